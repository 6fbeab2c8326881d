"""Blur (deblurring): ``y = k * x``, convolution of every channel with a kernel.

Two implementations: ``method="fft"`` is circular convolution by FFT with a closed-form ``prox_l2``
(diagonal in Fourier; the transfer function is cached per image size while the kernel is unchanged, and
pairs of images filtered by one kernel share a complex FFT, see ``deq.operators.fourier``);
``method="spatial"`` is a direct convolution with explicit boundary handling (``"zeros"``, ``"reflect"``,
``"replicate"``, ``"circular"`` padding to keep the size, or ``"valid"``, whose output is smaller by
``kernel - 1``) whose ``prox_l2`` is conjugate gradient. Both are true convolutions (the kernel is flipped,
unlike ``torch.nn.functional.conv2d``) with the kernel centre at ``((kh-1)//2, (kw-1)//2)``, so for
``boundary="circular"`` the two agree.

LUSER's deblurring setting: ``Blur(gaussian_kernel(9, 5 ** 0.5))`` on RGB images (same kernel per channel),
Gaussian noise 0.01; LUSER learns the kernel (``[1, 3, 9, 9]``, 243 parameters) with ``learnable_kernel=True``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deq.core.operator import Capability, LinearOperator
from deq.operators.batching import inverse_gamma, like
from deq.operators.fourier import SpectrumCache, fft2_real, ifft2_real, shared
from deq.operators.kernels import as_kernel, check_kernel_fits, gaussian_kernel, psf2otf

__all__ = ["Blur", "gaussian_kernel"]

BOUNDARIES = ("circular", "zeros", "reflect", "replicate", "valid")
_NUMPY_PAD = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Blur(LinearOperator):
    """``y = k * x`` on images ``x [B, C, H, W]`` (real).

    Args:
        kernel: ``[kh, kw]`` shared, ``[B, kh, kw]`` per sample, or ``[Bk, Ck, kh, kw]``; buffer ``kernel``.
        method: ``"fft"`` (circular, closed-form prox) or ``"spatial"``.
        boundary: with ``"spatial"``, one of ``"circular"``, ``"zeros"``, ``"reflect"``, ``"replicate"``
            (output ``[B, C, H, W]``) or ``"valid"`` (output ``[B, C, H-kh+1, W-kw+1]``); ``"fft"`` is circular.
        learnable_kernel: make ``kernel`` an ``nn.Parameter`` (gradients reach it) instead of a buffer.

    Capabilities: closed-form ``prox_l2`` with ``method="fft"``.
    """

    def __init__(
        self, kernel: Tensor, *, method: str = "fft", boundary: str = "circular", learnable_kernel: bool = False
    ) -> None:
        if method not in ("fft", "spatial"):
            raise ValueError(f"Blur: method must be 'fft' or 'spatial', got {method!r}")
        if boundary not in BOUNDARIES:
            raise ValueError(f"Blur: boundary must be one of {BOUNDARIES}, got {boundary!r}")
        if method == "fft" and boundary != "circular":
            raise ValueError(f"Blur: method='fft' is circular convolution; use method='spatial' for boundary={boundary!r}")
        k = as_kernel(kernel, "Blur")
        channels = None if k.shape[1] == 1 else k.shape[1]
        super().__init__((channels, None, None), (channels, None, None), input_kind="real", output_kind="real")
        self.method = method
        self.boundary = boundary
        if learnable_kernel:
            self.kernel = nn.Parameter(k)
        else:
            self.register_buffer("kernel", k)
        self._spectra = SpectrumCache()
        self.capabilities = frozenset({Capability.CLOSED_FORM_PROX}) if method == "fft" else frozenset()

    # -- FFT (circular) ------------------------------------------------------------------------------
    def spectrum(self, size: tuple[int, int], like_x: Tensor) -> Tensor:
        """The transfer function ``K [Bk, Ck, H, W]`` on the ``size = (H, W)`` grid in ``like_x``'s precision,
        cached while the kernel is unchanged (recomputed in the graph for a learnable kernel in grad mode)."""
        size = (int(size[0]), int(size[1]))
        return self._spectra.get(
            self.kernel, (size, like_x.dtype, like_x.device), lambda: psf2otf(like(self.kernel, like_x), size)
        )

    def _check(self, x: Tensor) -> None:
        check_kernel_fits(self.kernel, x.shape, "Blur")

    def _filter(self, x: Tensor, gain: Tensor) -> Tensor:
        """``F^-1[gain ⊙ F x]`` for real ``x [B, C, H, W]`` and a Hermitian-symmetric ``gain [Bk, Ck, H, W]``."""
        paired = self._shared_kernel()
        return ifft2_real(fft2_real(x, paired) * shared(gain, paired), x.shape[:-2], paired)

    def _shared_kernel(self) -> bool:
        return self.kernel.shape[0] == 1 and self.kernel.shape[1] == 1

    # -- spatial ---------------------------------------------------------------------------------------
    def _pads(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding giving a true convolution centred at (k-1)//2."""
        kh, kw = self.kernel.shape[-2:]
        top, left = kh - 1 - (kh - 1) // 2, kw - 1 - (kw - 1) // 2
        return top, (kh - 1) // 2, left, (kw - 1) // 2

    def _pad_index(self, h: int, w: int, device: torch.device) -> Tensor:
        """Flat source index of every padded pixel (-1: zero padding), ``[(H+pt+pb) * (W+pl+pr)]``."""
        top, bottom, left, right = self._pads()
        idx = np.arange(h * w).reshape(h, w)
        width = ((top, bottom), (left, right))
        if self.boundary == "zeros":
            padded = np.pad(idx, width, constant_values=-1)
        else:
            padded = np.pad(idx, width, mode=_NUMPY_PAD[self.boundary])
        return torch.from_numpy(padded.reshape(-1)).to(device)

    def _pad(self, x: Tensor) -> Tensor:
        if self.boundary == "valid":
            return x
        top, bottom, left, right = self._pads()
        h, w = x.shape[-2:]
        index = self._pad_index(h, w, x.device)
        flat = x.flatten(-2).index_select(-1, index.clamp(min=0))
        if self.boundary == "zeros":
            flat = flat * (index >= 0).to(x.dtype)
        return flat.reshape(*x.shape[:-2], h + top + bottom, w + left + right)

    def _pad_adjoint(self, y: Tensor, size: tuple[int, int]) -> Tensor:
        if self.boundary == "valid":
            return y
        h, w = size
        index = self._pad_index(h, w, y.device)
        keep = index >= 0
        values = y.flatten(-2)[..., keep]
        out = y.new_zeros((*y.shape[:-2], h * w)).index_add(-1, index[keep], values)
        return out.reshape(*y.shape[:-2], h, w)

    def _weights(self, x: Tensor) -> tuple[Tensor, bool]:
        """Flipped kernel as conv weights, and whether one kernel serves every sample and channel."""
        k = torch.flip(like(self.kernel, x), dims=(-2, -1))
        if k.shape[0] == 1 and k.shape[1] == 1:
            return k, True
        b, c = x.shape[:2]
        return k.expand(b, c, *k.shape[-2:]).reshape(b * c, 1, *k.shape[-2:]), False

    def _conv(self, x: Tensor, transpose: bool) -> Tensor:
        weight, one_kernel = self._weights(x)
        b, c, h, w = x.shape
        op = F.conv_transpose2d if transpose else F.conv2d
        if one_kernel:
            out = op(x.reshape(b * c, 1, h, w), weight)
        else:
            out = op(x.reshape(1, b * c, h, w), weight, groups=b * c)
        return out.reshape(b, c, *out.shape[-2:])

    # -- operator --------------------------------------------------------------------------------------
    def _forward(self, x: Tensor) -> Tensor:
        self._check(x)
        if self.method == "fft":
            return self._filter(x, self.spectrum(x.shape[-2:], x))
        return self._conv(self._pad(x), transpose=False)

    def _adjoint(self, y: Tensor) -> Tensor:
        if self.method == "fft":
            self._check(y)
            return self._filter(y, self.spectrum(y.shape[-2:], y).conj())
        kh, kw = self.kernel.shape[-2:]
        if self.boundary == "valid":
            size = (y.shape[-2] + kh - 1, y.shape[-1] + kw - 1)
        else:
            self._check(y)
            size = tuple(y.shape[-2:])
        return self._pad_adjoint(self._conv(y, transpose=True), size)

    def prox_l2(self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float = 1e-6, max_iter: int = 100) -> Tensor:
        """``argmin_x 1/2 ||k * x - y||^2 + 1/(2 gamma) ||x - z||^2``. FFT: closed form
        ``x = F^-1[(conj(K) Y + Z / gamma) / (|K|^2 + 1 / gamma)]`` (``tol``/``max_iter`` unused); spatial: CG."""
        if self.method != "fft":
            return super().prox_l2(z, y, gamma, tol=tol, max_iter=max_iter)
        self._check(z)
        otf = self.spectrum(z.shape[-2:], z)
        paired = self._shared_kernel() and (not isinstance(gamma, Tensor) or gamma.numel() == 1)
        inv_gamma = inverse_gamma(gamma.reshape(()) if paired and isinstance(gamma, Tensor) else gamma, z)
        otf = shared(otf, paired)
        num = otf.conj() * fft2_real(y, paired) + inv_gamma * fft2_real(z, paired)
        return ifft2_real(num / (otf.abs() ** 2 + inv_gamma), z.shape[:-2], paired)
