"""Image folders and random training patches for AWGN denoiser training (no downloads: local files only)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Sorted image files of ``folder``; a clear ``FileNotFoundError`` when it is absent or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder '{folder}' does not exist (pass --data-dir or set DEQ_DATA; see shared/data/README.md)"
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"image folder '{folder}' holds no images with suffix {IMAGE_SUFFIXES}")
    return files


def load_images(folder: str | os.PathLike[str], channels: int = 1, limit: int | None = None) -> list[Tensor]:
    """Images of ``folder`` as float tensors ``[C, H, W]`` in ``[0, 1]`` (grayscale for ``channels=1``)."""
    if channels not in (1, 3):
        raise ValueError(f"load_images: channels must be 1 or 3, got {channels}")
    out = []
    for path in image_files(folder)[:limit]:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255.0
        t = torch.from_numpy(arr)
        out.append(t[None] if channels == 1 else t.permute(2, 0, 1).contiguous())
    return out


class PatchDataset(Dataset):
    """``length`` random ``patch x patch`` crops with random flips and 90-degree rotations.

    Item ``i`` of epoch ``e`` is a deterministic function of ``(seed, e, i)`` (call :meth:`set_epoch`), so
    training is reproducible and resumable and DDP ranks that split the indices never overlap.
    """

    def __init__(self, images: list[Tensor], patch: int, length: int, seed: int = 0) -> None:
        small = [tuple(im.shape) for im in images if min(im.shape[-2:]) < patch]
        if small:
            raise ValueError(f"PatchDataset: patch size {patch} exceeds image sizes {small[:3]}")
        self.images, self.patch, self.length, self.seed, self.epoch = images, patch, length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Tensor:
        g = torch.Generator().manual_seed(hash((self.seed, self.epoch, int(i))) & 0x7FFFFFFF)
        im = self.images[int(torch.randint(len(self.images), (1,), generator=g))]
        top = int(torch.randint(im.shape[-2] - self.patch + 1, (1,), generator=g))
        left = int(torch.randint(im.shape[-1] - self.patch + 1, (1,), generator=g))
        out = TF.crop(im, top, left, self.patch, self.patch)
        if bool(torch.randint(2, (1,), generator=g)):
            out = TF.horizontal_flip(out)
        k = int(torch.randint(4, (1,), generator=g))
        return torch.rot90(out, k, dims=(-2, -1))  # exact 90-degree rotations
