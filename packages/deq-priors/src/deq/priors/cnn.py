"""Plain convolutional denoisers: a simple CNN, its real-spectral-norm variant RSN-CNN (Zhao et al.
sec. 4.1.1) and the hyperspectral CNN of Gkillas et al. (sec. VI-B3: 4 conv layers, 64 filters 3x3,
ReLU, spectral normalization on all layers).

``CNN``: ``depth`` 3x3 convolutions ``C -> width -> ... -> width -> C`` with ReLU between them; with
``residual`` it returns ``x - net(x)``. With ``spectral_norm="real"`` each convolution is 1-Lipschitz at
the input size it sees, so ``net`` is 1-Lipschitz and the residual output at most 2-Lipschitz.
"""

from __future__ import annotations

from torch import Tensor, nn

from deq.priors.base import ConvPrior, check_sizes


class CNN(ConvPrior):
    """Simple CNN denoiser ``D(x, sigma=None)`` on ``[B, C, H, W]`` (``sigma`` ignored).

    Args:
        in_channels: image channels ``C`` (bands for hyperspectral cubes).
        depth: number of convolutions (>= 2); width: feature channels.
        residual: return ``x - net(x)``; bias: conv bias.
        spectral_norm: ``None``, ``"real"`` or ``"plain"`` (see :mod:`deq.priors.spectral`).
    """

    def __init__(
        self,
        in_channels: int = 1,
        depth: int = 5,
        width: int = 64,
        residual: bool = True,
        bias: bool = True,
        spectral_norm: str | None = None,
    ) -> None:
        check_sizes(type(self).__name__, in_channels=(in_channels, 1), depth=(depth, 2), width=(width, 1))
        super().__init__(in_channels, residual)
        chans = [in_channels] + [width] * (depth - 1) + [in_channels]
        layers: list[nn.Module] = []
        for i in range(depth):
            layers.append(nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=bias))
            if i < depth - 1:
                layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)
        self.finish(spectral_norm)

    def denoise(self, x: Tensor, s: Tensor | None) -> Tensor:
        return self.body(x)


class RSNCNN(CNN):
    """RSN-CNN (Zhao et al. sec. 4.1.1): :class:`CNN` with real spectral normalization on every conv."""

    def __init__(self, in_channels: int = 1, depth: int = 5, width: int = 64, residual: bool = True, bias: bool = True) -> None:
        super().__init__(in_channels, depth, width, residual, bias, spectral_norm="real")


class HSICNN(CNN):
    """Hyperspectral prior of Gkillas et al. (sec. VI-B3): 4 convs, 64 filters 3x3, ReLU, real spectral
    norm on all layers; ``in_channels`` = number of bands (default 31)."""

    def __init__(
        self, in_channels: int = 31, depth: int = 4, width: int = 64, residual: bool = True, spectral_norm: str | None = "real"
    ) -> None:
        super().__init__(in_channels, depth, width, residual, True, spectral_norm)
