"""U-Net denoisers (Ronneberger et al. 2015): 2-D ``UNet`` on ``[B, C, H, W]``, ``UNet3D`` on video
``[B, C, T, H, W]`` (Zhao et al.'s "Unet-3D": 3x3x3 convolutions, pooling over H and W only, so any
number of frames works), and ``RSNUNet`` (Zhao et al. sec. 4.1.1: real spectral norm on every conv).

Each level holds two (Conv [+BN] + ReLU) blocks; down-sampling is 2x average pooling (norm <= 1),
up-sampling nearest-neighbour followed by a conv, skip connections concatenate. With ``residual`` the
output is ``x - net(x)``. Spatial sizes must be divisible by ``2 ** (levels - 1)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from deq.priors.base import ConvPrior, check_sizes


class _UNet(ConvPrior):
    def __init__(
        self,
        in_channels: int = 1,
        base: int = 32,
        levels: int = 3,
        batch_norm: bool = False,
        residual: bool = True,
        spectral_norm: str | None = None,
    ) -> None:
        check_sizes(type(self).__name__, in_channels=(in_channels, 1), base=(base, 1), levels=(levels, 1))
        super().__init__(in_channels, residual)
        conv = nn.Conv3d if self.video else nn.Conv2d
        norm = nn.BatchNorm3d if self.video else nn.BatchNorm2d
        pool = (1, 2, 2) if self.video else (2, 2)

        def block(cin: int, cout: int) -> nn.Sequential:
            mods: list[nn.Module] = []
            for c in (cin, cout):
                mods.append(conv(c, cout, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    mods.append(norm(cout))
                mods.append(nn.ReLU(inplace=True))
            return nn.Sequential(*mods)

        widths = [base * 2**i for i in range(levels)]
        self.levels = levels
        self.encoders = nn.ModuleList(
            [block(in_channels, widths[0])] + [block(widths[i - 1], widths[i]) for i in range(1, levels)]
        )
        self.pool = (nn.AvgPool3d if self.video else nn.AvgPool2d)(pool)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Upsample(scale_factor=pool, mode="nearest"), conv(widths[i], widths[i - 1], 3, padding=1))
            for i in range(levels - 1, 0, -1)
        )
        self.decoders = nn.ModuleList(block(2 * widths[i - 1], widths[i - 1]) for i in range(levels - 1, 0, -1))
        self.head = conv(widths[0], in_channels, 1)
        self.finish(spectral_norm)

    def denoise(self, x: Tensor, s: Tensor | None) -> Tensor:
        name = type(self).__name__
        factor = 2 ** (self.levels - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"{name}: H and W must be divisible by {factor} (levels={self.levels}), got shape {list(x.shape)}")
        skips, h = [], x
        for i, enc in enumerate(self.encoders):
            h = enc(h if i == 0 else self.pool(h))
            skips.append(h)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips[:-1])):
            h = dec(torch.cat([up(h), skip], 1))
        return self.head(h)


class UNet(_UNet):
    """2-D U-Net denoiser ``D(x, sigma=None)`` on ``[B, C, H, W]`` (``sigma`` ignored).

    Args: ``in_channels``, ``base`` (channels of the first level, doubled per level), ``levels``,
    ``batch_norm``, ``residual``, ``spectral_norm`` (``None``/``"real"``/``"plain"``).
    """


class UNet3D(_UNet):
    """3-D U-Net denoiser ``D(x, sigma=None)`` on video ``[B, C, T, H, W]`` (pooling over H, W only)."""

    video = True


class RSNUNet(UNet):
    """RSN-UNet (Zhao et al. sec. 4.1.1): 2-D :class:`UNet` with real spectral norm on every conv, no BN."""

    def __init__(self, in_channels: int = 1, base: int = 32, levels: int = 3, residual: bool = True) -> None:
        super().__init__(in_channels, base, levels, batch_norm=False, residual=residual, spectral_norm="real")
