"""Input checks and noise-level handling shared by every prior."""

from __future__ import annotations

import torch
from torch import Tensor


def check_image(x: Tensor, name: str, *, ndim: int | tuple[int, ...] = 4, channels: int | None = None) -> None:
    """Raise a ``ValueError``/``TypeError`` naming ``name`` unless ``x`` is a real floating tensor with
    ``ndim`` dimensions (4: ``[B, C, H, W]``; 5: ``[B, C, T, H, W]``) and ``channels`` channels."""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    layout = {4: "[B, C, H, W]", 5: "[B, C, T, H, W]"}
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a real floating-point tensor, got dtype {x.dtype}")
    if x.dim() not in dims:
        want = " or ".join(layout.get(d, f"{d}-D") for d in dims)
        raise ValueError(f"{name}: expected a {want} tensor, got shape {list(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channel(s) in dim 1, got shape {list(x.shape)}")


def sigma_tensor(sigma: float | Tensor | None, x: Tensor, name: str) -> Tensor:
    """The noise level as a ``[B, 1, 1, ...]`` tensor broadcastable against ``x``.

    ``sigma`` is a float, a 0-d tensor, or a ``[B]`` tensor of per-sample levels (intensity scale of
    ``x``, e.g. ``25/255``); ``None`` is an error for priors that need it.
    """
    if sigma is None:
        raise ValueError(f"{name}: this prior is noise-level conditioned; pass sigma (e.g. 25/255)")
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.dim() == 0:
        s = s.expand(x.shape[0])
    if s.dim() != 1 or s.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: sigma must be a float or a [B] tensor with B={x.shape[0]}, got shape {list(s.shape)}")
    if bool((s < 0).any()):
        raise ValueError(f"{name}: sigma must be >= 0, got {s.tolist()}")
    return s.reshape(-1, *([1] * (x.dim() - 1)))
