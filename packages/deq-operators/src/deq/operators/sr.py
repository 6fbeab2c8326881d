"""Single-image super-resolution ``y = S H x`` (Hu et al., eq. 6): circular blur ``H`` by a kernel, then
``S``, ``s``-fold decimation keeping pixels ``(s i, s j)``.

``prox_l2`` is the analytical l2-l2 super-resolution solution of Zhao, Wei et al., "Fast single image
super-resolution using a new analytical solution for l2-l2 problems", IEEE TIP 2016 (Theorem 1): with
``K = F(k)``, ``R = F(H^T S^T y + z / gamma)`` and ``⊙_s`` the mean over the ``s x s`` aliased spectral blocks,
``x = F^-1[ gamma (R - conj(K) ⊙ tile( ⊙_s(K R) / (1/gamma + ⊙_s |K|^2) )) ]``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from deq.core.operator import LinearOperator
from deq.operators.batching import inverse_gamma, like
from deq.operators.kernels import as_kernel, check_kernel_fits, psf2otf


def _block_mean(spec: Tensor, factor: int) -> Tensor:
    """Mean of the ``factor x factor`` spectral blocks ``[.., s*h, s*w] -> [.., h, w]`` (the spectrum of a
    ``factor``-fold decimation, up to the ``1/s^2`` that the mean carries)."""
    *lead, hh, ww = spec.shape
    h, w = hh // factor, ww // factor
    return spec.reshape(*lead, factor, h, factor, w).mean(dim=(-4, -2))


class SuperResolution(LinearOperator):
    """``y = S H x``: ``x [B, C, H, W]`` (real) ``-> y [B, C, H/s, W/s]``; ``H`` and ``W`` divisible by ``s``.

    Args:
        kernel: blur kernel ``[kh, kw]``, ``[B, kh, kw]`` or ``[Bk, Ck, kh, kw]`` (centre ``(k-1)//2``),
            e.g. ``gaussian_kernel`` or the bicubic/Gaussian kernels of ``shared/data/kernels``.
        factor: decimation factor ``s >= 1``.
    """

    def __init__(self, kernel: Tensor, factor: int) -> None:
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"SuperResolution: factor must be a positive int, got {factor!r}")
        k = as_kernel(kernel, "SuperResolution")
        channels = None if k.shape[1] == 1 else k.shape[1]
        super().__init__((channels, None, None), (channels, None, None), input_kind="real", output_kind="real")
        self.factor = factor
        self.register_buffer("kernel", k)

    def _check_hr(self, x: Tensor) -> None:
        h, w = x.shape[-2:]
        s = self.factor
        if h % s or w % s:
            raise ValueError(
                f"SuperResolution: image {h}x{w} is not divisible by the factor {s}; expected shape [B, C, {s}*h, {s}*w]"
            )
        check_kernel_fits(self.kernel, x, "SuperResolution")

    def _otf(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        return psf2otf(like(self.kernel, x), size)

    def _forward(self, x: Tensor) -> Tensor:
        self._check_hr(x)
        size = x.shape[-2:]
        blurred = torch.fft.irfft2(torch.fft.rfft2(x) * psf2otf(like(self.kernel, x), size, onesided=True), s=size)
        return blurred[..., :: self.factor, :: self.factor]

    def _upsample(self, y: Tensor) -> Tensor:
        """``S^T``: zero-filling ``[.., h, w] -> [.., s h, s w]``."""
        s = self.factor
        up = y.new_zeros((*y.shape[:-2], y.shape[-2] * s, y.shape[-1] * s))
        up[..., ::s, ::s] = y
        return up

    def _adjoint(self, y: Tensor) -> Tensor:
        up = self._upsample(y)
        self._check_hr(up)
        size = up.shape[-2:]
        otf = psf2otf(like(self.kernel, y), size, onesided=True)
        return torch.fft.irfft2(torch.fft.rfft2(up) * otf.conj(), s=size)

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form of ``argmin_x 1/2 ||S H x - y||^2 + 1/(2 gamma) ||x - z||^2`` (Zhao, Wei et al. 2016,
        Theorem 1; see the module docstring). ``z [B, C, H, W]``, ``y [B, C, H/s, W/s]``; exact, so
        ``tol``/``max_iter`` are unused."""
        self._check_hr(z)
        s, size = self.factor, z.shape[-2:]
        otf, inv_gamma = self._otf(z, size), inverse_gamma(gamma, z)
        r = otf.conj() * torch.fft.fft2(self._upsample(y)) + inv_gamma * torch.fft.fft2(z)
        low = _block_mean(otf * r, s) / (_block_mean(otf.abs() ** 2, s) + inv_gamma)
        x_hat = (r - otf.conj() * low.repeat(*([1] * (low.dim() - 2)), s, s)) / inv_gamma
        return torch.fft.ifft2(x_hat).real
