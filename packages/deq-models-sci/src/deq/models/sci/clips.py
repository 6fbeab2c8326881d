"""Training clips cut from real videos (the paper trains on DAVIS2017: 256x256x8 crops).

A video collection is a folder of sub-folders, one per video, each holding its frames as images sorted by
name (DAVIS's ``JPEGImages/480p/<sequence>/00000.jpg`` layout). Item ``i`` of :class:`VideoClipDataset` is
``frames`` consecutive frames of a random video from a random start, the same random ``size x size`` window
in every frame, flipped left-right half the time, with a random binary coding mask; all drawn from a
generator seeded with ``(seed, epoch, i)``, so ranks and resumed runs see the same items.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from deq.models.sci.synthetic import MASK_KINDS, random_mask


def load_video_folders(root: str | os.PathLike[str]) -> list[Tensor]:
    """Every video under ``root`` (one sub-folder each, frames sorted by name) as ``[F, H, W]`` in ``[0, 1]``,
    sub-folders in name order. Raises ``FileNotFoundError`` when ``root`` holds no sub-folder."""
    from deq.models.sci.io import load_video_folder

    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(
            f"'{root}' holds no video folders; expected one sub-folder of frames per video "
            "(e.g. DAVIS/JPEGImages/480p/<sequence>/00000.jpg)"
        )
    return [load_video_folder(f) for f in folders]


class VideoClipDataset(Dataset):
    """Deterministic SCI training pairs ``(video [1, frames, size, size], mask [frames, size, size])`` cut
    from ``videos`` (each ``[F, H, W]`` with ``F >= frames`` and ``H, W >= size``)."""

    def __init__(
        self,
        videos: list[Tensor],
        *,
        length: int,
        size: int = 64,
        frames: int = 8,
        seed: int = 0,
        masks: tuple[str, ...] = ("binary",),
    ) -> None:
        if not videos:
            raise ValueError("VideoClipDataset: need at least one video")
        for k, v in enumerate(videos):
            if v.dim() != 3 or v.shape[0] < frames or min(v.shape[1:]) < size:
                raise ValueError(
                    f"VideoClipDataset: video {k} has shape {list(v.shape)}; expected [F, H, W] with "
                    f"F >= {frames} frames and H, W >= {size} pixels"
                )
        if not masks or any(k not in MASK_KINDS for k in masks):
            raise ValueError(f"VideoClipDataset: masks must be a non-empty subset of {MASK_KINDS}, got {masks}")
        self.videos, self.length, self.size, self.frames, self.seed, self.epoch = videos, length, size, frames, seed, 0
        self.masks = tuple(masks)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        g = torch.Generator().manual_seed(hash((self.seed, self.epoch, index)) % (2**63))
        video = self.videos[int(torch.randint(len(self.videos), (), generator=g))]
        f, h, w = video.shape
        t = int(torch.randint(f - self.frames + 1, (), generator=g))
        i = int(torch.randint(h - self.size + 1, (), generator=g))
        j = int(torch.randint(w - self.size + 1, (), generator=g))
        clip = video[t : t + self.frames, i : i + self.size, j : j + self.size]
        if bool(torch.rand((), generator=g) < 0.5):
            clip = clip.flip(-1)
        kind = self.masks[int(torch.randint(len(self.masks), (), generator=g))] if len(self.masks) > 1 else self.masks[0]
        return clip[None].clone(), random_mask(kind, self.frames, self.size, self.size, g)
