"""Limited-memory ("good") Broyden method for batched fixed points ``z = g(z)``.

Finds a root of ``r(z) = g(z) - z`` with quasi-Newton steps ``z <- z - H r(z)``, where ``H`` approximates
``J_r^{-1}``. ``H`` is Broyden's good update started from ``H_0 = -I`` and applied to the last ``m`` pairs
``s_i = dz``, ``y_i = dr`` only, in the compact form of Byrd, Nocedal & Schnabel (1994, Theorem 6.1, inverted
by Sherman-Morrison-Woodbury):

    H = -I + (S + Y) (S^H Y + L)^{-1} S^H,

``S = [s_1 .. s_n]``, ``Y = [y_1 .. y_n]`` (``n <= m``, oldest first) and ``L`` the strictly lower
triangular part of ``S^H S``. With ``n`` equal to the number of steps taken this is exactly Broyden's method;
once ``n = m`` the oldest pair is dropped (a sliding window). The compact form keeps that well defined: the
product form ``-I + sum u_i v_i^H`` cannot drop its oldest pair (later pairs were built on it; doing so
diverged on symmetric problems), and restarting it from ``-I`` instead costs iterations (docs/core.md). A
sample whose ``m x m`` system is singular takes the plain step ``-H_0 r = r`` and restarts its window from
``-I``; a near-singular one can take a huge step, which the tracker reports as divergence.

The quasi-Newton algebra runs outside autocast, in ``z0``'s precision (the small system in at least float32),
so the solver works inside ``torch.autocast`` with only ``g`` in low precision. Memory: ``2 m`` copies of ``z``
plus ``m x m`` matrices, independent of ``max_iter`` (and three copies of ``z`` while the new inner products are
formed); per step one pass over the filled part of ``S`` and ``Y`` for the new inner products and one for ``H r``,
so a solve shorter than ``m`` steps costs what full-memory Broyden costs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import Tensor

from deq.core.solvers._tracker import SolverInfo, Tracker, check_max_iter


def _inner(a: Tensor, b: Tensor) -> Tensor:
    """``a^H b`` for stacks: ``a [B, n, d]``, ``b [B, d, k]`` -> ``[B, n, k]``."""
    return torch.bmm(a.conj(), b)


def _exact(z: Tensor) -> contextlib.AbstractContextManager:
    """Autocast off on ``z``'s device: the solver's own algebra stays in ``z``'s dtype."""
    return torch.autocast(z.device.type, enabled=False)


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
        m: number of most recent ``(dz, dr)`` pairs kept (a sliding window).

    Returns:
        ``(z, info)``: the best iterate per sample and a :class:`SolverInfo`.
    """
    check_max_iter("broyden", max_iter)
    if m < 1:
        raise ValueError(f"broyden: memory m must be >= 1, got {m}")
    tracker = Tracker("broyden", z0, tol, stop_mode, divergence_ratio)
    b, d = z0.shape[0], z0[0].numel()
    # Ring buffers by slot; ``age`` orders the slots (-1: empty). Empty or reset slots hold zeros, and the
    # system below gets a unit diagonal there, so they contribute nothing.
    S = z0.new_zeros(b, m, d)
    Y = torch.zeros_like(S)
    SY = z0.new_zeros(b, m, m)  # SY[i, j] = s_i^H y_j
    SS = z0.new_zeros(b, m, m)  # SS[i, j] = s_i^H s_j
    Sr = z0.new_zeros(b, m, 1)  # S^H r for the current residual
    age = torch.full((m,), -1, dtype=torch.long, device=z0.device)
    empty = torch.ones(b, m, dtype=torch.bool, device=z0.device)

    solve_dtype = torch.promote_types(z0.dtype, torch.float32)  # LU needs float32 or wider
    z = z0.reshape(b, d)
    fz = g(z0).reshape(b, d).to(z.dtype)
    r = fz - z
    for k in range(max_iter):
        active = tracker.observe(z.reshape(z0.shape), fz.reshape(z0.shape))
        if not bool(active.any()) or k == max_iter - 1:
            break
        n = min(k, m)  # slots filled so far (in order 0, 1, ..): the algebra runs on those only
        with _exact(z):  # step = -H r = r - (S + Y) c with (S^H Y + L) c = S^H r
            newer = age[:n, None] > age[None, :n]  # L: s_i^H s_j where pair i is newer than pair j
            system = SY[:, :n, :n] + torch.where(newer, SS[:, :n, :n], 0) + torch.diag_embed(empty[:, :n].to(SS.dtype))
            c, failed = torch.linalg.solve_ex(system.to(solve_dtype), Sr[:, :n].to(solve_dtype))
            bad = (failed != 0) | ~torch.isfinite(c).all(dim=(1, 2))
            c = torch.where(bad[:, None, None], torch.zeros_like(c), c).to(S.dtype)  # singular: plain step -H_0 r
            step = r - (torch.bmm(S[:, :n].transpose(1, 2), c) + torch.bmm(Y[:, :n].transpose(1, 2), c))[:, :, 0]
            step = torch.where(active[:, None], step, torch.zeros_like(step))  # stopped samples stay put
            z = z + step
        fz = g(z.reshape(z0.shape)).reshape(b, d).to(z.dtype)
        with _exact(z):
            r_new = fz - z
            y = torch.where(active[:, None], r_new - r, torch.zeros_like(r))
            reset = active & bad  # a sample whose window was singular restarts from H_0 = -I
            if bool(reset.any()):
                S[reset] = 0
                Y[reset] = 0
                SY[reset] = 0
                SS[reset] = 0
                empty[reset] = True
            slot, n = k % m, min(k + 1, m)  # the oldest pair's slot once the window is full
            S[:, slot] = step
            Y[:, slot] = y
            age[slot] = k
            empty[:, slot] = ~active
            new = _inner(S[:, :n], torch.stack([y, step, r_new], dim=2))  # one pass: S^H y, S^H s, S^H r_new
            SY[:, :n, slot] = new[:, :, 0]
            SY[:, slot, :n] = _inner(Y[:, :n], step[:, :, None])[:, :, 0].conj()  # s^H y_j = conj(y_j^H s)
            SS[:, :n, slot] = new[:, :, 1]
            SS[:, slot, :n] = new[:, :, 1].conj()
            Sr[:, :n] = new[:, :, 2:]
            r = r_new
    return tracker.finish()
