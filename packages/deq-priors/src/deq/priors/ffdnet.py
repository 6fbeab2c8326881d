"""FFDNet (Zhang, Zuo & Zhang, "FFDNet: toward a fast and flexible solution for CNN based image
denoising", IEEE TIP 2018, Fig. 1): the image is split into four 2x-downsampled sub-images
(pixel unshuffle), concatenated with a noise-level map ``M = sigma``, passed through ``depth`` 3x3
convolutions (Conv+ReLU, ``depth - 2`` x Conv+BN+ReLU, Conv) and re-assembled (pixel shuffle).

With ``residual=True`` (default here, not in the paper) the network predicts the noise and returns
``x - net(x, M)``, which trains faster; ``sigma`` is on the intensity scale of ``x`` (``25/255``).
Odd image sizes are padded by replication to even and cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deq.priors.base import ConvPrior, check_sizes


class FFDNet(ConvPrior):
    """Noise-level-conditioned denoiser ``D(x, sigma)`` on ``[B, C, H, W]``; ``sigma`` float or ``[B]``.

    Args:
        in_channels: image channels ``C``.
        depth: number of convolutions (paper: 15 for grayscale, 12 for color).
        width: feature channels (paper: 64 grayscale, 96 color).
        batch_norm: BN after the middle convolutions.
        residual: return ``x - net`` (noise prediction) instead of ``net``.
        spectral_norm: ``None``, ``"real"`` or ``"plain"`` (see :mod:`deq.priors.spectral`).
    """

    takes_sigma = True

    def __init__(
        self,
        in_channels: int = 1,
        depth: int = 15,
        width: int = 64,
        batch_norm: bool = True,
        residual: bool = True,
        spectral_norm: str | None = None,
    ) -> None:
        check_sizes("FFDNet", in_channels=(in_channels, 1), depth=(depth, 2), width=(width, 1))
        super().__init__(in_channels, residual)
        c4 = 4 * in_channels
        layers: list[nn.Module] = [nn.Conv2d(c4 + 1, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(width, c4, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.finish(spectral_norm)

    def denoise(self, x: Tensor, s: Tensor | None) -> Tensor:
        h, w = x.shape[-2:]
        xp = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
        sub = F.pixel_unshuffle(xp, 2)
        noise_map = s.expand(-1, 1, *sub.shape[-2:])
        return F.pixel_shuffle(self.body(torch.cat([sub, noise_map], 1)), 2)[..., :h, :w]
