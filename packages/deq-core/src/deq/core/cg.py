"""Batched conjugate gradient for Hermitian positive-definite systems ``M x = b``.

Each sample (leading dimension) is solved independently: inner products are taken per sample, and a
sample whose residual ``||b - M x|| <= tol * ||b||`` stops changing while the others go on. Works for real
and complex tensors of any shape ``[B, ...]``; autograd flows through the iterations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from deq.core.batched import batch_dot, batch_norm2, per_sample

__all__ = ["batch_dot", "batch_norm2", "conjugate_gradient"]


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor],
    b: Tensor,
    x0: Tensor | None = None,
    *,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> Tensor:
    """Solve ``M x = b`` for Hermitian positive-definite ``M`` (given as ``matvec``), per sample.

    Args:
        matvec: ``x [B, ...] -> M x [B, ...]``.
        b: right-hand side ``[B, ...]`` (real or complex).
        x0: starting point, default zeros.
        tol: relative residual tolerance per sample.
        max_iter: maximum number of CG steps.

    Returns:
        ``x`` of the shape and dtype of ``b``.
    """
    if b.dim() < 1:
        raise ValueError(f"conjugate_gradient expects a batched right-hand side [B, ...], got shape {tuple(b.shape)}")
    x = torch.zeros_like(b) if x0 is None else x0
    r = b - matvec(x) if x0 is not None else b.clone()
    p = r
    rr = batch_dot(r, r).real
    b_norm2 = batch_dot(b, b).real
    threshold = (tol**2) * torch.where(b_norm2 > 0, b_norm2, torch.ones_like(b_norm2))
    active = rr > threshold
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        mp = matvec(p)
        pmp = batch_dot(p, mp).real
        alpha = torch.where(active, rr / torch.where(pmp > 0, pmp, torch.ones_like(pmp)), torch.zeros_like(rr))
        x = x + per_sample(alpha, x).to(x.dtype) * p
        r = r - per_sample(alpha, r).to(r.dtype) * mp
        rr_new = batch_dot(r, r).real
        beta = torch.where(active, rr_new / torch.where(rr > 0, rr, torch.ones_like(rr)), torch.zeros_like(rr))
        p = r + per_sample(beta, p).to(p.dtype) * p
        rr = rr_new
        active = active & (rr > threshold)
    return x
