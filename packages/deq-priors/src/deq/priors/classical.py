"""Classical sparsity priors: soft-thresholding and the l1-wavelet proximal operator.

* ``soft_threshold(x, t) = sign(x) max(|x| - t, 0)``, the prox of ``t ||x||_1`` (complex: on the modulus).
* :class:`WaveletSoftThreshold`: ``W^T soft(W x, t)`` with an orthogonal discrete wavelet transform
  ``W`` (PyWavelets, periodization mode), the exact prox of ``t ||W x||_1`` for orthogonal wavelets;
  the approximation band is left unthresholded. Requires the ``[wavelet]`` extra (PyWavelets).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from deq.priors.base import check_image, sigma_tensor


def soft_threshold(x: Tensor, threshold: float | Tensor) -> Tensor:
    """Prox of ``t ||.||_1``: ``sign(x) max(|x| - t, 0)`` (for complex ``x``: ``x / |x| max(|x| - t, 0)``)."""
    mag = x.abs()
    return x * (torch.clamp(mag - threshold, min=0) / mag.clamp_min(torch.finfo(mag.dtype).tiny))


class SoftThreshold(nn.Module):
    """Soft-thresholding prior ``D(x, sigma=None) = soft_threshold(x, t)`` with ``t = threshold`` or
    ``sigma`` (float or ``[B]``) when given; any tensor shape ``[B, ...]``. Firmly non-expansive."""

    in_channels = None
    takes_sigma = True  # optional: sigma replaces the fixed threshold / weight when given
    lipschitz = "prox"
    lipschitz_controlled = True
    video = False

    def __init__(self, threshold: float = 0.1) -> None:
        super().__init__()
        if threshold < 0:
            raise ValueError(f"SoftThreshold: threshold must be >= 0, got {threshold}")
        self.threshold = threshold

    def forward(self, x: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        t = self.threshold if sigma is None else sigma_tensor(sigma, x, "SoftThreshold")
        return soft_threshold(x, t)


def _pywt():
    try:
        import pywt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the 'wavelet' prior needs PyWavelets: pip install 'deq-priors[wavelet]'") from exc
    return pywt


class WaveletSoftThreshold(nn.Module):
    """l1-wavelet prior ``D(x, sigma=None) = W^T soft(W x, t)`` on ``[B, C, H, W]`` (per 2-D slice).

    ``t`` is ``threshold`` or ``sigma`` when given (a float). Computed with PyWavelets on the CPU in
    float64 (no gradient). Orthogonal wavelets (``"haar"``, ``"db4"``, ``"sym8"``...) make this the
    exact prox, firmly non-expansive.
    """

    in_channels = None
    takes_sigma = True  # optional: sigma replaces the fixed threshold / weight when given
    lipschitz = "prox"
    lipschitz_controlled = True
    video = False

    def __init__(self, threshold: float = 0.1, wavelet: str = "db4", level: int = 3) -> None:
        super().__init__()
        pywt = _pywt()
        if not pywt.Wavelet(wavelet).orthogonal:
            raise ValueError(f"WaveletSoftThreshold: wavelet {wavelet!r} is not orthogonal; use e.g. 'haar', 'db4', 'sym8'")
        self.threshold, self.wavelet, self.level = threshold, wavelet, level

    def forward(self, x: Tensor, sigma: float | None = None) -> Tensor:
        check_image(x, "WaveletSoftThreshold")
        pywt = _pywt()
        t = float(self.threshold if sigma is None else sigma)
        arr = x.detach().cpu().double().numpy()
        coeffs = pywt.wavedec2(arr, self.wavelet, mode="periodization", level=self.level, axes=(-2, -1))
        shrunk = [coeffs[0]] + [tuple(soft_threshold(torch.from_numpy(d), t).numpy() for d in band) for band in coeffs[1:]]
        out = pywt.waverec2(shrunk, self.wavelet, mode="periodization", axes=(-2, -1))
        return torch.from_numpy(out[..., : x.shape[-2], : x.shape[-1]]).to(x.device, x.dtype)
