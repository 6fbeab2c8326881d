"""Per-sample reductions on batched tensors ``[B, ...]``: every solver, conjugate gradient and Jacobian
diagnostic works sample by sample over the leading dimension."""

from __future__ import annotations

import torch
from torch import Tensor


def batch_dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample inner product ``<a, b> = sum conj(a) * b`` over all but the first dimension, ``[B]``."""
    return (a.conj() * b).flatten(1).sum(1) if a.is_complex() else (a * b).flatten(1).sum(1)


def batch_norm2(a: Tensor) -> Tensor:
    """Per-sample Euclidean norm over all but the first dimension, real ``[B]``."""
    return torch.linalg.vector_norm(a.flatten(1), dim=1)


def per_sample(v: Tensor, like: Tensor) -> Tensor:
    """Reshape a ``[B]`` vector to ``[B, 1, ..., 1]`` so that it broadcasts against ``like [B, ...]``."""
    return v.reshape(-1, *([1] * (like.dim() - 1)))
