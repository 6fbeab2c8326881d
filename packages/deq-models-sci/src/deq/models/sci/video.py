"""Applying deq-priors' image denoisers to SCI videos.

deq-priors' CNN denoisers act on images ``[B, C, H, W]``. :class:`FrameWindow` turns one into a video
denoiser ``[B, 1, T, H, W] -> [B, 1, T, H, W]`` that works for any number of frames ``T``: frame ``t``
is denoised from the ``2 r + 1`` frames ``t - r .. t + r`` stacked as channels (reflected at the ends),
and the centre channel of the output is kept. ``r = 0`` is plain frame-by-frame denoising (PnP-SCI's
FFDNet baseline); ``r >= 1`` lets a 2-D network use temporal correlation at 2-D cost.
Video (3-D) denoisers ``[B, C, T, H, W]`` are used as they are.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from deq.core.prior import check_prior


def frame_windows(x: Tensor, radius: int) -> Tensor:
    """``[B, 1, T, H, W] -> [B T, 2 r + 1, H, W]``: each frame with its ``r`` neighbours on either side
    (the time axis reflected at both ends; replicated when ``T <= r``)."""
    b, c, t, h, w = x.shape
    if c != 1:
        raise ValueError(f"frame_windows: expected a grayscale video [B, 1, T, H, W], got shape {list(x.shape)}")
    if radius == 0:
        return x.transpose(1, 2).reshape(b * t, 1, h, w)
    seq = x[:, 0]  # [B, T, H, W]
    mode = "reflect" if t > radius else "replicate"
    padded = F.pad(seq.reshape(b, t, h * w).transpose(1, 2), (radius, radius), mode=mode).transpose(1, 2)
    padded = padded.reshape(b, t + 2 * radius, h, w)
    windows = padded.unfold(1, 2 * radius + 1, 1)  # [B, T, H, W, 2r+1]
    return windows.permute(0, 1, 4, 2, 3).reshape(b * t, 2 * radius + 1, h, w)


class FrameWindow(nn.Module):
    """Video denoiser built from an image denoiser ``D(x [N, 2r+1, H, W], sigma) -> [N, 2r+1, H, W]``.

    Args:
        denoiser: a deq-priors image denoiser with ``2 * radius + 1`` input channels.
        radius: temporal half-window ``r``.
        sigma: noise level passed when the caller gives none (for noise-conditioned denoisers such as
            FFDNet used inside DE-GAP); ``None`` passes ``None``.
    """

    def __init__(self, denoiser: nn.Module, radius: int = 0, sigma: float | None = None) -> None:
        super().__init__()
        if radius < 0:
            raise ValueError(f"FrameWindow: radius must be >= 0, got {radius}")
        check_prior(denoiser, "FrameWindow's denoiser")
        if denoiser.in_channels not in (None, 2 * radius + 1):
            raise ValueError(
                f"FrameWindow: a temporal radius of {radius} needs a denoiser with {2 * radius + 1} input channels, "
                f"it has {denoiser.in_channels}"
            )
        self.denoiser, self.radius, self.sigma = denoiser, radius, sigma
        self.lipschitz = denoiser.lipschitz  # the declared deq.core.prior.Prior attributes of a video denoiser

    in_channels = 1
    video = True

    @property
    def takes_sigma(self) -> bool:
        return bool(self.denoiser.takes_sigma)

    def forward(self, x: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        if x.dim() != 5:
            raise ValueError(f"FrameWindow: expected a video [B, 1, T, H, W], got shape {list(x.shape)}")
        b, _, t, h, w = x.shape
        s = self.sigma if sigma is None else sigma
        if isinstance(s, Tensor) and s.dim() == 1 and s.shape[0] == b:
            s = s.repeat_interleave(t)
        out = self.denoiser(frame_windows(x, self.radius), s)
        return out[:, self.radius].reshape(b, t, h, w)[:, None]


def as_video_denoiser(denoiser: nn.Module, radius: int = 0, sigma: float | None = None) -> nn.Module:
    """``denoiser`` itself if it declares ``video = True`` (a :class:`deq.core.prior.Prior` on videos), else a
    :class:`FrameWindow` around it."""
    check_prior(denoiser, "video denoiser")
    return denoiser if denoiser.video else FrameWindow(denoiser, radius=radius, sigma=sigma)
