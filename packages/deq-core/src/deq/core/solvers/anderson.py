"""Anderson acceleration (Walker & Ni 2011) for batched fixed points ``z = g(z)``.

With the last ``n = min(k, m)`` iterates ``X = [z_{k-n+1} .. z_k]``, images ``F = g(X)`` and residuals
``G = F - X`` (each flattened per sample), solve for every sample (Zhao et al. eq. 16-17)

    alpha = argmin ||G alpha||^2  subject to  1^T alpha = 1

through the bordered system ``[[0, 1^T], [1, M + lam s I]] [nu; alpha] = [1; 0]`` with ``M_ij = <G_i, G_j>``
(``s`` the mean diagonal of the Gram matrix, so ``lam`` is relative to the residual scale), then

    z_{k+1} = beta F alpha + (1 - beta) X alpha              (eq. 17, mixing ``beta``).

Complex tensors use the Hermitian Gram matrix (conjugated inner products). Memory: ``2 m`` copies of ``z`` (history),
independent of ``max_iter``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from deq.core.solvers._tracker import SolverInfo, Tracker, check_beta, check_max_iter


def anderson(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    m: int = 5,
    beta: float = 1.0,
    lam: float = 1e-8,
    divergence_ratio: float = 100.0,
) -> tuple[Tensor, SolverInfo]:
    """Solve ``z = g(z)`` with Anderson acceleration, per sample.

    Args:
        g: the map, ``[B, ...] -> [B, ...]``.
        z0: starting point ``[B, ...]`` (real or complex).
        tol, max_iter, stop_mode, divergence_ratio: as in :func:`deq.core.solvers.fixed_point`.
        m: history size (memory is ``2 m`` iterates).
        beta: mixing parameter in ``(0, 1]``, the weight of ``F alpha`` (eq. 17; the same convention as
            :func:`~deq.core.solvers.fixed_point`'s relaxation).
        lam: Tikhonov regularization of the Gram matrix, relative to its mean diagonal (raised to at least
            10 machine epsilons of the dtype).

    Returns:
        ``(z, info)``: the best iterate per sample and a :class:`SolverInfo`.
    """
    check_max_iter("anderson", max_iter)
    if m < 1:
        raise ValueError(f"anderson: history size m must be >= 1, got {m}")
    check_beta("anderson", beta)
    tracker = Tracker("anderson", z0, tol, stop_mode, divergence_ratio)
    b, d = z0.shape[0], z0[0].numel()
    real = z0.real.dtype if z0.is_complex() else z0.dtype
    lam = max(lam, 10 * torch.finfo(real).eps)  # below the dtype's resolution the system is exactly singular
    X = torch.empty(b, m, d, dtype=z0.dtype, device=z0.device)
    F = torch.empty_like(X)
    G = torch.empty_like(X)  # residual history: one slot and one Gram row are updated per step
    gram = torch.zeros(b, m, m, dtype=z0.dtype, device=z0.device)
    eye = torch.eye(m, dtype=z0.dtype, device=z0.device)
    z = z0
    for k in range(max_iter):
        fz = g(z)
        if not bool(tracker.observe(z, fz).any()):
            break
        slot = k % m
        X[:, slot] = z.reshape(b, d)
        F[:, slot] = fz.reshape(b, d)
        del z, fz  # keep no extra copies of the iterate alive at the memory peak
        torch.sub(F[:, slot], X[:, slot], out=G[:, slot])
        n = min(k + 1, m)
        if n == 1:
            z_next = F[:, 0].reshape(z0.shape).clone()
        else:
            row = torch.bmm(G[:, slot : slot + 1].conj(), G[:, :n].transpose(1, 2))[:, 0]
            gram[:, slot, :n] = row
            gram[:, :n, slot] = row.conj()
            gm = gram[:, :n, :n]
            scale = gm.diagonal(dim1=1, dim2=2).real.mean(1).clamp_min(torch.finfo(real).tiny)
            H = torch.zeros(b, n + 1, n + 1, dtype=z0.dtype, device=z0.device)
            H[:, 0, 1:] = 1
            H[:, 1:, 0] = 1
            H[:, 1:, 1:] = gm + (lam * scale)[:, None, None] * eye[:n, :n]
            rhs = torch.zeros(b, n + 1, 1, dtype=z0.dtype, device=z0.device)
            rhs[:, 0] = 1
            alpha = torch.linalg.solve_ex(H, rhs)[0][:, 1:, 0]
            bad = ~torch.isfinite(alpha).all(1)  # singular history: plain step for those samples
            if bool(bad.any()):
                alpha = torch.where(bad[:, None], torch.zeros_like(alpha), alpha)
                alpha[bad, slot] = 1
            z_next = torch.bmm(alpha[:, None], F[:, :n])[:, 0]
            if beta != 1.0:
                z_next = beta * z_next + (1 - beta) * torch.bmm(alpha[:, None], X[:, :n])[:, 0]
            z_next = z_next.reshape(z0.shape)
        z = z_next if bool(tracker.active.all()) else tracker.freeze(z_next)  # noqa: F841 (read at loop top; ruff misreads the del)
    return tracker.finish()
