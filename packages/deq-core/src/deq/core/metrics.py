"""Image quality metrics, batched over the leading dimension and computed on the tensors' device.

* ``psnr(x, ref) = 10 log10(data_range^2 / mean((x - ref)^2))`` per sample.
* ``ssim`` — Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population
  covariances, mean over the valid (uncropped) window positions; this equals
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=...)``. Every 2-D slice (channels, frames) is scored and averaged.
* ``sam`` — spectral angle mapper: mean over pixels of ``arccos(<x, ref> / (||x|| ||ref||))`` along the
  spectral axis (dim 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_pair(x: Tensor, ref: Tensor, name: str, min_dim: int) -> None:
    if x.shape != ref.shape:
        raise ValueError(f"{name}: x and ref must have the same shape, got {list(x.shape)} and {list(ref.shape)}")
    if x.dim() < min_dim:
        raise ValueError(f"{name}: expected a batched tensor with at least {min_dim} dims, got shape {list(x.shape)}")
    if x.is_complex() or ref.is_complex():
        raise TypeError(f"{name}: expected real tensors (take .abs() of complex images first), got {x.dtype}")


def psnr(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per sample: ``x``, ``ref`` ``[B, ...]`` -> ``[B]``."""
    _check_pair(x, ref, "psnr", 2)
    mse = (x - ref).double().pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).to(x.dtype)


def _gaussian_window(sigma: float, truncate: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def ssim(x: Tensor, ref: Tensor, data_range: float = 1.0, sigma: float = 1.5) -> Tensor:
    """Structural similarity per sample: ``x``, ``ref`` ``[B, ..., H, W]`` -> ``[B]``.

    Every ``H x W`` slice (channels, frames) gets its own SSIM map; the result is the mean over slices and
    valid window positions (images must be at least 11x11 with the default window).
    """
    _check_pair(x, ref, "ssim", 3)
    b, (h, w) = x.shape[0], x.shape[-2:]
    win = _gaussian_window(sigma, 3.5, torch.float64, x.device)
    if h < win.numel() or w < win.numel():
        raise ValueError(f"ssim: images must be at least {win.numel()}x{win.numel()}, got {h}x{w}")
    xx = x.double().reshape(-1, 1, h, w)
    rr = ref.double().reshape(-1, 1, h, w)

    def blur(t: Tensor) -> Tensor:
        t = F.conv2d(t, win.reshape(1, 1, -1, 1))
        return F.conv2d(t, win.reshape(1, 1, 1, -1))

    mu_x, mu_r = blur(xx), blur(rr)
    var_x = blur(xx * xx) - mu_x**2
    var_r = blur(rr * rr) - mu_r**2
    cov = blur(xx * rr) - mu_x * mu_r
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    smap = ((2 * mu_x * mu_r + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_r**2 + c1) * (var_x + var_r + c2))
    return smap.reshape(b, -1).mean(1).to(x.dtype)


def sam(x: Tensor, ref: Tensor, degrees: bool = False, eps: float = 1e-12) -> Tensor:
    """Spectral angle mapper per sample: ``x``, ``ref`` ``[B, bands, ...]`` -> ``[B]`` (radians by default)."""
    _check_pair(x, ref, "sam", 3)
    dot = (x * ref).sum(1)
    cos = dot / (torch.linalg.vector_norm(x, dim=1) * torch.linalg.vector_norm(ref, dim=1) + eps)
    angle = torch.arccos(cos.clamp(-1.0, 1.0)).flatten(1).mean(1)
    return angle * (180.0 / math.pi) if degrees else angle
