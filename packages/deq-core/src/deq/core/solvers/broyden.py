"""Limited-memory ("good") Broyden method for batched fixed points ``z = g(z)``.

Finds a root of ``r(z) = g(z) - z`` with quasi-Newton steps ``z <- z - B r(z)``, where ``B`` approximates
``J_r^{-1}`` starting from ``-I`` and is kept in low-rank form ``B = -I + sum_i u_i v_i^H`` with at most
``m`` pairs; when the buffer is full the method restarts from ``-I`` (overwriting the oldest pair
instead is unstable: it diverged on symmetric test problems). Memory: ``2 m`` copies of ``z``, independent
of ``max_iter``. After a
step ``dz`` with residual change ``dr`` the rank-one update is

    u = (dz - B dr) / (v^H dr),   v = B^H dz.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from deq.core.solvers._tracker import SolverInfo, Tracker, check_max_iter


def _inner(a: Tensor, b: Tensor) -> Tensor:
    """``a^H b`` for stacks: ``a [B, n, d]``, ``b [B, d]`` -> ``[B, n]``."""
    return torch.bmm(a.conj(), b[:, :, None])[:, :, 0]


def broyden(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    m: int = 30,
    divergence_ratio: float = 100.0,
) -> tuple[Tensor, SolverInfo]:
    """Solve ``z = g(z)`` with limited-memory Broyden, per sample.

    Args:
        g: the map, ``[B, ...] -> [B, ...]``.
        z0: starting point ``[B, ...]`` (real or complex).
        tol, max_iter, stop_mode, divergence_ratio: as in :func:`deq.core.solvers.fixed_point`.
        m: number of rank-one updates kept before a restart.

    Returns:
        ``(z, info)``: the best iterate per sample and a :class:`SolverInfo`.
    """
    check_max_iter("broyden", max_iter)
    if m < 1:
        raise ValueError(f"broyden: memory m must be >= 1, got {m}")
    tracker = Tracker("broyden", z0, tol, stop_mode, divergence_ratio)
    b, d = z0.shape[0], z0[0].numel()
    U = torch.empty(b, m, d, dtype=z0.dtype, device=z0.device)  # only the filled prefix is ever read
    V = torch.empty_like(U)
    used = 0

    def apply_B(x: Tensor) -> Tensor:  # B x = -x + U (V^H x)
        return -x if used == 0 else -x + torch.bmm(_inner(V[:, :used], x)[:, None], U[:, :used])[:, 0]

    def apply_BH(x: Tensor) -> Tensor:  # B^H x = -x + V (U^H x)
        return -x if used == 0 else -x + torch.bmm(_inner(U[:, :used], x)[:, None], V[:, :used])[:, 0]

    z = z0.reshape(b, d)
    fz = g(z0).reshape(b, d)
    r = fz - z
    Br = -r
    for k in range(max_iter):
        active = tracker.observe(z.reshape(z0.shape), fz.reshape(z0.shape))
        if not bool(active.any()) or k == max_iter - 1:
            break
        step = torch.where(active[:, None], -Br, torch.zeros_like(r))  # stopped samples stay put
        z = z + step
        fz = g(z.reshape(z0.shape)).reshape(b, d)
        r_new = fz - z
        dr = r_new - r
        Br_new = apply_B(r_new)
        B_dr = Br_new - Br  # B dr = B r_new - B r: no third product with B
        v = apply_BH(step)
        denom = (v.conj() * dr).sum(1)
        ok = active & torch.isfinite(denom) & (denom.abs() > 1e-30)
        u = (step - B_dr) / torch.where(ok, denom, torch.ones_like(denom))[:, None]
        u = torch.where(ok[:, None], u, torch.zeros_like(u))
        v = torch.where(ok[:, None], v, torch.zeros_like(v))
        slot = k % m
        if slot == 0 and k > 0:  # memory full: restart from B = -I (overwriting the oldest pair diverges)
            used = 0
            Br_new = -r_new
        U[:, slot] = u
        V[:, slot] = v
        used = slot + 1
        Br = Br_new + u * (v.conj() * r_new).sum(1, keepdim=True)  # B_new r_new by the rank-one update
        r = r_new
    return tracker.finish()
