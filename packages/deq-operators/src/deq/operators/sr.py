"""Single-image super-resolution ``y = S H x`` (Hu et al., Sec. 4.2: ``A = S H``): circular blur ``H`` by a
kernel, then ``S``, ``s``-fold decimation keeping pixels ``(s i, s j)``. PnP-PGM's data step, Hu et al. eq. (6),
``(gamma A^T A + I)^{-1} (z + gamma A^T y)``, is :meth:`SuperResolution.prox_l2`.

Everything is computed in Fourier, with ``K = F(k)`` the kernel's transfer function on the high-resolution grid
(cached per image size while the kernel is unchanged, see ``deq.operators.fourier``) and ``⊙_s`` the mean over the
``s x s`` aliased blocks of a spectrum (the spectrum of an ``s``-fold decimation):

- forward ``y = F_low^-1[⊙_s(K F x)]``, adjoint ``x = F^-1[conj(K) tile_s(F_low y)]`` (zero-filling ``S^T`` tiles
  the low-resolution spectrum);
- ``prox_l2``: the analytical l2-l2 solution of Zhao, Wei et al., "Fast single image super-resolution using a new
  analytical solution for l2-l2 problems", IEEE TIP 2016 (Theorem 1): with ``R = F(H^T S^T y + z / gamma)``,
  ``x = F^-1[ gamma (R - conj(K) tile_s( ⊙_s(K R) / (1/gamma + ⊙_s |K|^2) )) ]``.

With one kernel for the whole batch (and a scalar ``gamma``), pairs of real images share one complex FFT.
"""

from __future__ import annotations

from torch import Tensor, nn

from deq.core.operator import Capability, LinearOperator
from deq.operators.batching import inverse_gamma, like
from deq.operators.fourier import SpectrumCache, fft2_real, ifft2_real, shared
from deq.operators.kernels import as_kernel, check_kernel_fits, psf2otf


def _block_mean(spec: Tensor, factor: int) -> Tensor:
    """Mean of the ``factor x factor`` spectral blocks ``[.., s*h, s*w] -> [.., h, w]`` (the spectrum of a
    ``factor``-fold decimation)."""
    *lead, hh, ww = spec.shape
    h, w = hh // factor, ww // factor
    # two block sums over contiguous slabs: much faster on CPU than one complex mean over dims (-4, -2)
    rows = spec.reshape(*lead, factor, h, ww).sum(dim=-3)
    return rows.reshape(*lead, h, factor, w).sum(dim=-2) / factor**2


def _times_tiled(gain: Tensor, spec: Tensor, factor: int) -> Tensor:
    """``gain ⊙ tile_s(spec)``: ``gain [.., s*h, s*w]`` times the ``s x s`` tiling of ``spec [.., h, w]`` (the
    spectrum of the zero-filled upsampling ``S^T``), in one pass without materialising the tiling."""
    *glead, hh, ww = gain.shape
    *lead, h, w = spec.shape
    tiles = gain.reshape(*glead, factor, h, factor, w) * spec.reshape(*lead, 1, h, 1, w)
    return tiles.reshape(*tiles.shape[:-4], hh, ww)


class SuperResolution(LinearOperator):
    """``y = S H x``: ``x [B, C, H, W]`` (real) ``-> y [B, C, H/s, W/s]``; ``H`` and ``W`` divisible by ``s``.
    Closed-form ``prox_l2``.

    Args:
        kernel: blur kernel ``[kh, kw]``, ``[B, kh, kw]`` or ``[Bk, Ck, kh, kw]`` (centre ``(k-1)//2``),
            e.g. ``gaussian_kernel`` or the bicubic/Gaussian kernels of ``shared/data/kernels``; stored as
            ``kernel [Bk, Ck, kh, kw]``.
        factor: decimation factor ``s >= 1``.
        image_size: ``(H, W)`` of the high-resolution images, or ``None`` for any size; when given, inputs of
            both ``A`` and ``A^H`` are checked against it.
        learnable_kernel: make ``kernel`` an ``nn.Parameter`` (gradients reach it) instead of a buffer.
    """

    capabilities = frozenset({Capability.CLOSED_FORM_PROX})

    def __init__(
        self,
        kernel: Tensor,
        factor: int,
        *,
        image_size: tuple[int, int] | None = None,
        learnable_kernel: bool = False,
    ) -> None:
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"SuperResolution: factor must be a positive int, got {factor!r}")
        k = as_kernel(kernel, "SuperResolution")
        channels = None if k.shape[1] == 1 else k.shape[1]
        hr, lr = (None, None), (None, None)
        if image_size is not None:
            h, w = image_size
            if h % factor or w % factor or h < k.shape[-2] or w < k.shape[-1]:
                raise ValueError(
                    f"SuperResolution: image_size {tuple(image_size)} must be divisible by the factor {factor} and at "
                    f"least the kernel size {tuple(k.shape[-2:])}"
                )
            hr, lr = (h, w), (h // factor, w // factor)
        super().__init__((channels, *hr), (channels, *lr), input_kind="real", output_kind="real")
        self.factor = factor
        if learnable_kernel:
            self.kernel = nn.Parameter(k)
        else:
            self.register_buffer("kernel", k)
        self._spectra = SpectrumCache()

    def _check_hr(self, x: Tensor) -> None:
        h, w = x.shape[-2:]
        s = self.factor
        if h % s or w % s:
            raise ValueError(
                f"SuperResolution: image {h}x{w} is not divisible by the factor {s}; expected shape [B, C, {s}*h, {s}*w]"
            )
        check_kernel_fits(self.kernel, x.shape, "SuperResolution")

    def spectra(self, size: tuple[int, int], like_x: Tensor) -> tuple[Tensor, Tensor]:
        """``(K, ⊙_s |K|^2)``: the transfer function ``[Bk, Ck, H, W]`` on the ``size = (H, W)`` grid and the
        block mean of its power ``[Bk, Ck, H/s, W/s]``, in ``like_x``'s precision; cached while the kernel is
        unchanged (recomputed in the graph when the kernel is learnable and grad mode is on)."""
        size = (int(size[0]), int(size[1]))

        def compute() -> tuple[Tensor, Tensor]:
            otf = psf2otf(like(self.kernel, like_x), size)
            return otf, _block_mean(otf.abs() ** 2, self.factor)

        return self._spectra.get(self.kernel, (size, like_x.dtype, like_x.device), compute)

    def _paired(self, gamma: float | Tensor | None = None) -> bool:
        """Whether all images share the kernel (and ``gamma``), so pairs can share a complex FFT."""
        shared_gamma = not isinstance(gamma, Tensor) or gamma.numel() == 1
        return self.kernel.shape[0] == 1 and self.kernel.shape[1] == 1 and shared_gamma

    def _forward(self, x: Tensor) -> Tensor:
        self._check_hr(x)
        paired = self._paired()
        otf, _ = self.spectra(x.shape[-2:], x)
        low = _block_mean(fft2_real(x, paired) * shared(otf, paired), self.factor)
        return ifft2_real(low, x.shape[:-2], paired)

    def _adjoint(self, y: Tensor) -> Tensor:
        s = self.factor
        size = (y.shape[-2] * s, y.shape[-1] * s)
        check_kernel_fits(self.kernel, (*y.shape[:-2], *size), "SuperResolution")
        paired = self._paired()
        otf, _ = self.spectra(size, y)
        spec = _times_tiled(shared(otf, paired).conj(), fft2_real(y, paired), s)
        return ifft2_real(spec, y.shape[:-2], paired)

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form of ``argmin_x 1/2 ||S H x - y||^2 + 1/(2 gamma) ||x - z||^2`` (Zhao, Wei et al. 2016,
        Theorem 1; see the module docstring). ``z [B, C, H, W]``, ``y [B, C, H/s, W/s]``, ``gamma`` positive (a
        float, 0-d or ``[B]`` tensor); exact, so ``tol``/``max_iter`` are unused."""
        self._check_hr(z)
        s, paired = self.factor, self._paired(gamma)
        otf, power = self.spectra(z.shape[-2:], z)
        otf, power = shared(otf, paired), shared(power, paired)
        inv_gamma = inverse_gamma(gamma.reshape(()) if paired and isinstance(gamma, Tensor) else gamma, z)
        r = _times_tiled(otf.conj(), fft2_real(y, paired), s) + inv_gamma * fft2_real(z, paired)
        low = _block_mean(otf * r, s) / (power + inv_gamma)
        return ifft2_real((r - _times_tiled(otf.conj(), low, s)) / inv_gamma, z.shape[:-2], paired)
