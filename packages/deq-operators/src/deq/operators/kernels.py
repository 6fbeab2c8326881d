"""Blur kernels and their Fourier transforms (shared by blur and super-resolution)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from deq.operators.batching import as_float_tensor


def gaussian_kernel(size: int | tuple[int, int], sigma: float, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Normalised isotropic Gaussian ``k[i, j] ∝ exp(-(i^2 + j^2) / (2 sigma^2))`` centred in a ``size`` box,
    shape ``[kh, kw]``, summing to 1. LUSER's deblurring kernel is ``gaussian_kernel(9, 5 ** 0.5)``
    (9x9, variance 5)."""
    kh, kw = (size, size) if isinstance(size, int) else size
    if kh < 1 or kw < 1 or sigma <= 0:
        raise ValueError(f"gaussian_kernel: expected size >= 1 and sigma > 0, got size={size}, sigma={sigma}")
    i = torch.arange(kh, dtype=torch.float64) - (kh - 1) / 2
    j = torch.arange(kw, dtype=torch.float64) - (kw - 1) / 2
    k = torch.exp(-(i[:, None] ** 2 + j[None, :] ** 2) / (2 * sigma**2))
    return (k / k.sum()).to(dtype)


def as_kernel(kernel: Tensor, owner: str) -> Tensor:
    """Normalise a kernel to ``[Bk, Ck, kh, kw]``: ``[kh, kw]`` (shared), ``[B, kh, kw]`` (one per sample,
    shared over channels) or ``[Bk, Ck, kh, kw]`` (``Bk``/``Ck`` of 1 broadcast)."""
    k = as_float_tensor(kernel, "kernel", owner)
    if k.dim() == 2:
        k = k[None, None]
    elif k.dim() == 3:
        k = k[:, None]
    if k.dim() != 4:
        raise ValueError(f"{owner}: kernel must be [kh, kw], [B, kh, kw] or [B, C, kh, kw], got shape {list(kernel.shape)}")
    return k


def check_kernel_fits(kernel: Tensor, shape: Sequence[int], owner: str) -> None:
    """Raise unless the ``[Bk, Ck, kh, kw]`` kernel fits inside images of shape ``[B, C, H, W]`` and its
    batch/channels match."""
    kh, kw = kernel.shape[-2:]
    h, w = shape[-2:]
    if kh > h or kw > w:
        raise ValueError(f"{owner}: kernel {kh}x{kw} is larger than the image {h}x{w}; expected a kernel of at most [{h}, {w}]")
    for dim, what in ((0, "batch B"), (1, "channels C")):
        if kernel.shape[dim] not in (1, shape[dim]):
            raise ValueError(
                f"{owner}: kernel has {kernel.shape[dim]} entries along {what} but the input is {list(shape)}; "
                f"expected 1 or {shape[dim]}"
            )


def psf2otf(kernel: Tensor, size: tuple[int, int]) -> Tensor:
    """Transfer function of circular convolution with ``kernel [.., kh, kw]`` on an ``size = (H, W)`` grid.

    The kernel is zero-padded to ``(H, W)`` and rolled so that its centre ``((kh-1)//2, (kw-1)//2)`` sits at
    the origin, then transformed: ``x ⊛ k = ifft2(fft2(x) * otf)``.
    """
    kh, kw = kernel.shape[-2:]
    padded = kernel.new_zeros((*kernel.shape[:-2], *size))
    padded[..., :kh, :kw] = kernel
    padded = torch.roll(padded, shifts=(-((kh - 1) // 2), -((kw - 1) // 2)), dims=(-2, -1))
    return torch.fft.fft2(padded)
