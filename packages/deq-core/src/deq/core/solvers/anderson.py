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

from deq.core.solvers._tracker import SolverInfo, Tracker, check_max_iter


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
        beta: mixing parameter in ``(0, 1]``.
        lam: Tikhonov regularization of the Gram matrix, relative to its mean diagonal.

    Returns:
        ``(z, info)``: the best iterate per sample and a :class:`SolverInfo`.
    """
    check_max_iter("anderson", max_iter)
    if m < 1:
        raise ValueError(f"anderson: history size m must be >= 1, got {m}")
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"anderson: beta must be in (0, 1], got {beta}")
    tracker = Tracker("anderson", z0, tol, stop_mode, divergence_ratio)
    b = z0.shape[0]
    d = z0[0].numel()
    X = torch.zeros(b, m, d, dtype=z0.dtype, device=z0.device)
    F = torch.zeros_like(X)
    z = z0
    for k in range(max_iter):
        fz = g(z)
        if not bool(tracker.observe(z, fz).any()):
            break
        slot = k % m
        X[:, slot] = z.reshape(b, d)
        F[:, slot] = fz.reshape(b, d)
        n = min(k + 1, m)
        if n == 1:
            z_next = fz
        else:
            G = F[:, :n] - X[:, :n]
            gram = torch.bmm(G.conj(), G.transpose(1, 2))  # M_ij = <G_i, G_j>: ||G^T a||^2 = a^H M a
            scale = gram.diagonal(dim1=1, dim2=2).real.mean(1).clamp_min(torch.finfo(gram.real.dtype).tiny)
            H = torch.zeros(b, n + 1, n + 1, dtype=z0.dtype, device=z0.device)
            H[:, 0, 1:] = 1
            H[:, 1:, 0] = 1
            H[:, 1:, 1:] = gram + (lam * scale)[:, None, None] * torch.eye(n, dtype=z0.dtype, device=z0.device)
            rhs = torch.zeros(b, n + 1, 1, dtype=z0.dtype, device=z0.device)
            rhs[:, 0] = 1
            alpha = torch.linalg.solve(H, rhs)[:, 1:, 0]
            mixed = beta * torch.bmm(alpha[:, None], F[:, :n])[:, 0]
            if beta != 1.0:
                mixed = mixed + (1 - beta) * torch.bmm(alpha[:, None], X[:, :n])[:, 0]
            z_next = mixed.reshape(z0.shape)
            bad = ~torch.isfinite(z_next.reshape(b, -1)).all(1)
            if bool(bad.any()):  # singular history: fall back to the plain step for those samples
                z_next = torch.where(bad.reshape(-1, *([1] * (z0.dim() - 1))), fz, z_next)
        z = tracker.freeze(z_next)
    return tracker.finish()
