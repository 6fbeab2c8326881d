"""Fourier-domain helpers of the convolution operators (blur, super-resolution).

- :class:`SpectrumCache`: quantities derived from a kernel (its transfer function on an image grid, ...) kept per
  grid size, dtype and device while the kernel is unchanged, so a fixed kernel costs one FFT per image size.
- :func:`fft2_real` / :func:`ifft2_real`: the 2-D DFT of a batch of real images and back. With ``paired=True``
  two real images ``a, b`` are transformed together as ``a + i b``: every map built from real kernels (a filter
  with a Hermitian-symmetric spectrum, decimation, zero-filling) sends real images to real images, so it acts on
  the real and imaginary parts separately, provided the pair shares the kernel (and every other parameter). One
  complex FFT of ``n / 2`` images is much cheaper than ``n`` real-to-complex FFTs plus their (slow, on CPU)
  complex-to-real inverses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import Tensor

T = TypeVar("T")


class SpectrumCache:
    """Values computed from a kernel, kept while the kernel stays the same tensor at the same version.

    ``Tensor._version`` counts in-place edits (an optimiser step on a learnable kernel, ``copy_``,
    ``load_state_dict``), and ``.to()``/``.double()`` replace the tensor, so a stale entry is never reused.
    Nothing is cached while the kernel requires grad and grad mode is on: the value must then be part of the
    autograd graph.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: dict[tuple, tuple[Tensor, int, object]] = {}

    def get(self, kernel: Tensor, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()``, or its cached value for ``key`` if ``kernel`` is unchanged since it was computed."""
        if kernel.requires_grad and torch.is_grad_enabled():
            return compute()
        try:
            version = kernel._version
        except RuntimeError:  # inference-mode tensors have no version counter: never cache them
            return compute()
        entry = self._entries.get(key)
        if entry is not None and entry[0] is kernel and entry[1] == version:
            return entry[2]  # type: ignore[return-value]
        with torch.no_grad():
            value = compute()
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (kernel, version, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """The complex dtype of a real floating dtype (float64 -> complex128, else complex64)."""
    return torch.complex128 if real == torch.float64 else torch.complex64


def _pack_pairs(x: Tensor) -> Tensor:
    """Real images ``[..., H, W]`` (``n`` images in all) as ``ceil(n / 2)`` complex images
    ``x_{2j} + i x_{2j+1}``, ``[m, H, W]`` (a zero image completes an odd count)."""
    h, w = x.shape[-2:]
    flat = x.reshape(-1, h, w)
    if flat.shape[0] % 2:
        flat = torch.cat([flat, flat.new_zeros(1, h, w)])
    return torch.complex(flat[0::2], flat[1::2])


def _unpack_pairs(z: Tensor, lead: Sequence[int]) -> Tensor:
    """Inverse of :func:`_pack_pairs` on real results: complex ``[m, h, w]`` -> real ``[*lead, h, w]``."""
    n = math.prod(lead)
    flat = torch.stack([z.real, z.imag], dim=1).reshape(-1, *z.shape[-2:])[:n]
    return flat.reshape(*lead, *z.shape[-2:])


def fft2_real(x: Tensor, paired: bool) -> Tensor:
    """``F x`` of real images ``x [B, C, H, W]``: complex ``[B, C, H, W]``, or ``[ceil(BC/2), H, W]`` for the
    pairs ``x_{2j} + i x_{2j+1}`` when ``paired`` (then every factor applied to the spectrum must be one
    Hermitian-symmetric ``[H, W]`` array, see :func:`shared`)."""
    return torch.fft.fft2(_pack_pairs(x) if paired else x.to(complex_dtype(x.dtype)))


def ifft2_real(spec: Tensor, lead: Sequence[int], paired: bool) -> Tensor:
    """The real images ``[*lead, h, w]`` whose spectrum (in the layout of :func:`fft2_real`) is ``spec``."""
    z = torch.fft.ifft2(spec)
    return _unpack_pairs(z, lead) if paired else z.real


def shared(spec: Tensor, paired: bool) -> Tensor:
    """A kernel-derived ``[Bk, Ck, h, w]`` array in the layout of :func:`fft2_real`: ``[h, w]`` when ``paired``
    (``Bk = Ck = 1``), unchanged otherwise."""
    return spec[0, 0] if paired else spec
