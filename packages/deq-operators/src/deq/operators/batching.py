"""Shared batching helpers: operators whose data (mask, kernel, trajectory) is either shared by the whole
batch or given per sample store it with a leading batch dimension of 1 or ``B``."""

from __future__ import annotations

import torch
from torch import Tensor

from deq.core.operator import inverse_gamma

__all__ = ["as_float_tensor", "check_finite", "inverse_gamma", "like", "match_batch"]


def match_batch(data: Tensor, batch: int, what: str, owner: str) -> Tensor:
    """Check that ``data`` (leading dim 1 = shared, or ``B``) fits a batch of ``batch`` samples."""
    if data.shape[0] not in (1, batch):
        raise ValueError(
            f"{owner}: {what} holds {data.shape[0]} per-sample entries but the input batch has B={batch}; "
            f"expected a shared {what} (leading size 1) or one per sample (leading size {batch})"
        )
    return data


def like(data: Tensor, x: Tensor) -> Tensor:
    """``data`` on ``x``'s device, in ``x``'s real precision (a float buffer used against real or complex ``x``)."""
    real = x.real.dtype if x.is_complex() else x.dtype
    return data.to(device=x.device, dtype=real)


def check_finite(t: Tensor, what: str, owner: str) -> Tensor:
    """Return ``t`` unless it holds NaN or Inf, which raise a ``ValueError`` naming ``what`` and where."""
    bad = ~torch.isfinite(t.detach())
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{owner}: {what} holds {int(bad.sum())} NaN or Inf entries (the first at index {first}); expected finite values"
        )
    return t


def as_float_tensor(value, what: str, owner: str) -> Tensor:
    """A float tensor copy of a tensor/array ``value`` (integer and bool masks become float32), checked to be
    finite (a NaN in a mask or kernel would otherwise propagate silently into every result)."""
    t = torch.as_tensor(value)
    if t.is_complex():
        raise TypeError(f"{owner}: {what} must be real, got {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return check_finite(t.detach().clone(), what, owner)
