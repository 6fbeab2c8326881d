"""Reading training and test images from disk, and random training patches. Nothing is downloaded.

* :func:`load_images`: a folder (or one file) of PNG/BMP/JPEG/TIFF images with 1, 3 or N channels (N-channel
  TIFF as a multi-page stack) and MATLAB ``.mat`` files (v5 through scipy, v7.3 through h5py) holding 2-D
  images or ``(H, W, C)`` cubes, each returned as a float32 tensor ``[C, H, W]``;
* :func:`read_mat`: the arrays of one ``.mat`` file in MATLAB order;
* :class:`PatchDataset`: ``patch x patch`` crops with flips and 90-degree rotations of any number of
  channels (31-band hyperspectral cubes included), item ``i`` a deterministic function of ``(seed, i)``.

Pillow, scipy and h5py come with the extra ``deq-core[data]``; a missing one is an ``ImportError`` naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from deq.core.errors import DataError, DataNotFoundError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
MAT_SUFFIXES = (".mat",)


def _require(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"reading this file needs {package}: pip install 'deq-core[data]'") from exc


def image_files(folder: str | os.PathLike[str], suffixes: tuple[str, ...] = IMAGE_SUFFIXES + MAT_SUFFIXES) -> list[Path]:
    """Sorted files of ``folder`` with one of ``suffixes``; a clear error when the folder is absent or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(
            f"image folder '{folder}' does not exist (pass --data-dir or set DEQ_DATA; see shared/data/README.md)"
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise DataNotFoundError(f"image folder '{folder}' holds no files with suffix {suffixes}")
    return files


def read_mat(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Arrays of a .mat file in MATLAB order (v5 via scipy; v7.3/HDF5 via h5py, transposed back)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"file '{path}' does not exist")
    sio = _require("scipy.io", "scipy")
    try:
        raw = sio.loadmat(path)
    except Exception as exc:  # MATLAB v7.3 is HDF5, which scipy does not read
        h5py = _require("h5py", "h5py")
        if not h5py.is_hdf5(path):
            raise DataError(f"'{path}' is not a readable .mat file ({type(exc).__name__}: {exc})") from exc
        with h5py.File(path, "r") as fh:  # h5py returns arrays in C order, i.e. transposed
            raw = {k: np.asarray(v).T for k, v in fh.items() if isinstance(v, h5py.Dataset)}
    return {k: v for k, v in raw.items() if not k.startswith("__")}


def _mat_image(path: Path, key: str | None) -> np.ndarray:
    arrays = read_mat(path)
    if key is not None:
        if key not in arrays:
            raise DataError(f"'{path}' has no key {key!r}; keys present: {sorted(arrays)}")
        return np.asarray(arrays[key])
    numeric = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiub" and v.ndim in (2, 3)}
    if len(numeric) != 1:
        raise DataError(f"'{path}' holds {sorted(numeric) or 'no'} 2-D/3-D numeric arrays; name the image with key=...")
    return np.asarray(next(iter(numeric.values())))


def _pil_image(path: Path, channels: int | None) -> np.ndarray:
    Image = _require("PIL.Image", "Pillow")
    with Image.open(path) as im:
        n_pages = getattr(im, "n_frames", 1)
        if channels in (1, 3) and n_pages == 1:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"))
            return arr[:, :, None] if arr.ndim == 2 else arr
        pages = []
        for i in range(n_pages):  # multi-page TIFF: one page per channel
            im.seek(i)
            page = np.asarray(im)
            pages.append(page[:, :, None] if page.ndim == 2 else page)
        return np.concatenate(pages, axis=2)


def read_image(path: str | os.PathLike[str], channels: int | None = None, key: str | None = None) -> Tensor:
    """One image as float32 ``[C, H, W]``.

    Image files: 8/16-bit integers are divided by 255 / 65535 (intensities in ``[0, 1]``); for single-page files
    ``channels`` 1 or 3 converts (colour to luminance, gray to RGB), ``None`` keeps the stored channels; a
    multi-page TIFF is a stack of its pages. ``.mat`` files: the array
    ``key`` (default: the file's only 2-D/3-D numeric array), ``(H, W)`` or ``(H, W, C)`` MATLAB order, values as
    stored; ``channels`` must then match. A mismatch is a :class:`~deq.core.errors.DataError`.
    """
    path = Path(path)
    if path.suffix.lower() in MAT_SUFFIXES:
        arr = _mat_image(path, key)
        arr = arr[:, :, None] if arr.ndim == 2 else arr
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        arr = _pil_image(path, channels)
    else:
        raise DataError(f"'{path}': unsupported image type; expected one of {IMAGE_SUFFIXES + MAT_SUFFIXES}")
    if arr.dtype.kind in "ui" and path.suffix.lower() in IMAGE_SUFFIXES:
        arr = arr.astype(np.float32) / (65535.0 if arr.dtype.itemsize > 1 else 255.0)
    out = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)).astype(np.float32))
    if not bool(torch.isfinite(out).all()):
        raise DataError(f"'{path}' holds NaN or Inf values")
    if channels is not None and out.shape[0] != channels:
        raise DataError(f"'{path}' has {out.shape[0]} channel(s) (shape (H, W, C) = {tuple(arr.shape)}), expected {channels}")
    return out


def load_images(
    source: str | os.PathLike[str], channels: int | None = None, limit: int | None = None, key: str | None = None
) -> list[Tensor]:
    """Every image of a folder (sorted by name; images and ``.mat`` files) or the one file ``source``, as
    float32 tensors ``[C, H, W]`` (see :func:`read_image` for ``channels`` and ``key``); ``limit`` keeps the
    first ones."""
    source = Path(source)
    files = [source] if source.is_file() else image_files(source)
    return [read_image(p, channels, key) for p in files[:limit]]


class PatchDataset(Dataset):
    """``length`` random ``patch x patch`` crops of ``images`` (``[C, H, W]`` each, any ``C``), with random
    horizontal flips and 90-degree rotations when ``augment``.

    Item ``i`` is a deterministic function of ``(seed, i)``: a training run that draws items from its step
    number (``deq.core.training``) sees the same data whether or not it was interrupted and resumed, and data-
    parallel ranks that draw disjoint indices never overlap.
    """

    def __init__(self, images: list[Tensor], patch: int, length: int, seed: int = 0, augment: bool = True) -> None:
        if not images:
            raise ValueError("PatchDataset: no images")
        small = [tuple(im.shape) for im in images if min(im.shape[-2:]) < patch]
        if small:
            raise ValueError(f"PatchDataset: patch size {patch} exceeds image sizes {small[:3]}")
        channels = {im.shape[0] for im in images}
        if len(channels) != 1:
            raise ValueError(f"PatchDataset: images have different channel counts {sorted(channels)}")
        self.images, self.patch, self.length, self.seed, self.augment = images, patch, length, seed, augment

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + int(i) * 7919 + 17) & 0x7FFF_FFFF_FFFF)
        im = self.images[int(torch.randint(len(self.images), (1,), generator=g))]
        top = int(torch.randint(im.shape[-2] - self.patch + 1, (1,), generator=g))
        left = int(torch.randint(im.shape[-1] - self.patch + 1, (1,), generator=g))
        out = im[:, top : top + self.patch, left : left + self.patch]
        if self.augment:
            if bool(torch.randint(2, (1,), generator=g)):
                out = out.flip(-1)
            out = torch.rot90(out, int(torch.randint(4, (1,), generator=g)), dims=(-2, -1))
        return out.contiguous()
