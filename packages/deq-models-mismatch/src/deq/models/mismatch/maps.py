"""The two iteration maps of Hu et al. (sec. 3.1), for any operator and any denoiser ``D``.

SD-RED, steepest-descent regularisation by denoising (Romano et al. 2017; the paper's eq. 4, lost in the text
extraction; used for CS-MRI)::

    T(x) = x - gamma (A^H (A x - y) + tau (x - D(x)))                                     (4)

PnP-PGM, the proximal-gradient plug-and-play map (eq. 5-6; used for super-resolution)::

    T(x) = prox_{gamma g}(x - gamma tau (x - D(x))),                                      (5)
    prox_{gamma g}(z) = (gamma A^T A + I)^{-1} (z + gamma A^T y)                           (6)

with ``g(x) = 1/2 ||A x - y||^2``; the prox is the operator's ``prox_l2(z, y, gamma)`` (closed form for
super-resolution and single-coil MRI, conjugate gradient otherwise). Training with a mismatched operator
``A'`` (eq. 10, where the paper's ``x + gamma A'^T y`` is a typo for ``z + gamma A'^T y``) is the same map
given ``A'``. Both maps have the same fixed points: ``T(x) = x`` in either iff
``A^H (A x - y) + tau (x - D(x)) = 0``.

``x``: real images ``[B, C, H, W]``; for MRI the operator is the real-input view of ``CartesianMRI`` (adjoint
``Re(A^H y)``). A denoiser that needs sides divisible by ``multiple`` (a U-Net with ``L`` levels:
``2^(L-1)``) gets its input reflect-padded to the next multiple and its output cropped back.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from deq.core.operator import LinearOperator


def denoise_padded(denoiser: nn.Module, x: Tensor, multiple: int) -> Tensor:
    """``D(x)`` for ``x [B, C, H, W]``, reflect-padding ``H``, ``W`` up to a multiple of ``multiple`` and cropping
    the output back to ``H x W``."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return denoiser(x)
    if ph >= h or pw >= w:
        raise ValueError(f"denoise_padded: image {h}x{w} too small to reflect-pad to a multiple of {multiple}")
    return denoiser(F.pad(x, (0, pw, 0, ph), mode="reflect"))[..., :h, :w]


class _PriorMap(nn.Module):
    """What both maps share: the denoiser ``D`` (its parameters are the model's), the step ``gamma > 0``, the
    regularisation weight ``tau > 0`` and the denoiser's size ``multiple``."""

    def __init__(self, denoiser: nn.Module, gamma: float, tau: float, multiple: int = 1) -> None:
        super().__init__()
        if not gamma > 0 or not tau > 0:
            raise ValueError(f"{type(self).__name__}: gamma and tau must be positive, got gamma={gamma}, tau={tau}")
        if not isinstance(multiple, int) or multiple < 1:
            raise ValueError(f"{type(self).__name__}: multiple must be a positive int, got {multiple!r}")
        self.denoiser = denoiser
        self.gamma, self.tau, self.multiple = float(gamma), float(tau), multiple

    def residual(self, x: Tensor) -> Tensor:
        """The RED regulariser's gradient ``tau (x - D(x))``."""
        return self.tau * (x - denoise_padded(self.denoiser, x, self.multiple))

    def extra_repr(self) -> str:
        return f"gamma={self.gamma:g}, tau={self.tau:g}, multiple={self.multiple}"


class SDREDMap(_PriorMap):
    """SD-RED (4): ``T(x, y, A) = x - gamma (A^H (A x - y) + tau (x - D(x)))`` on ``x [B, C, H, W]``."""

    def forward(self, x: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        data = operator.adjoint(operator(x) - y)
        return x - self.gamma * (data + self.residual(x))


class PGMMap(_PriorMap):
    """PnP-PGM (5-6): ``T(x, y, A) = prox_{gamma g}(x - gamma tau (x - D(x)))`` on ``x [B, C, H, W]``."""

    def forward(self, x: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        return operator.prox_l2(x - self.gamma * self.residual(x), y, self.gamma)
