"""DnCNN (Zhang et al., "Beyond a Gaussian denoiser", IEEE TIP 2017, Fig. 1).

``depth`` 3x3 convolutions: Conv+ReLU, ``depth - 2`` x (Conv [+BN] + ReLU), Conv. With ``residual`` the
network predicts the noise and returns ``x - net(x)`` (the paper's residual learning, eq. 1-2).
17 layers, 64 channels, no conv bias and affine BN in the 15 middle layers give 556,032 weights for one
channel (LUSER Table 3 counts 556,033 with its learnable step size).
"""

from __future__ import annotations

from torch import Tensor, nn

from deq.priors.base import ConvPrior, check_sizes


class DnCNN(ConvPrior):
    """DnCNN denoiser ``D(x, sigma=None)`` on ``[B, C, H, W]`` (``sigma`` is ignored: not conditioned).

    Args:
        in_channels: image channels ``C`` (output has the same).
        depth: number of convolution layers (>= 2).
        width: feature channels.
        batch_norm: BN after the middle convolutions.
        bias: bias on every convolution.
        residual: return ``x - net(x)`` (noise prediction) instead of ``net(x)``.
        spectral_norm: ``None``, ``"real"`` (operator norm of each conv, Lipschitz-controlled) or ``"plain"``
            (``torch.nn.utils.parametrizations.spectral_norm`` on the reshaped weight matrix; not a bound).
    """

    def __init__(
        self,
        in_channels: int = 1,
        depth: int = 17,
        width: int = 64,
        batch_norm: bool = True,
        bias: bool = False,
        residual: bool = True,
        spectral_norm: str | None = None,
    ) -> None:
        check_sizes("DnCNN", in_channels=(in_channels, 1), depth=(depth, 2), width=(width, 1))
        super().__init__(in_channels, residual)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1, bias=bias), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=bias))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, in_channels, 3, padding=1, bias=bias))
        self.body = nn.Sequential(*layers)
        self.finish(spectral_norm)

    def denoise(self, x: Tensor, s: Tensor | None) -> Tensor:
        return self.body(x)
