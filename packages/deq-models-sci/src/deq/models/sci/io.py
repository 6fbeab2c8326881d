"""Loading and saving video SCI (CACTI) data.

The standard ``*_cacti.mat`` layout (PnP-SCI, DeSCI, BIRNAT benchmarks) holds MATLAB arrays in
``(H, W, frames)`` order:

* ``mask`` ``(H, W, B)``: the coding pattern of the ``B`` frames compressed into one snapshot;
* ``meas`` ``(H, W)`` or ``(H, W, N)``: ``N`` snapshots, ``meas[..., n] = sum_t mask[..., t] * orig[..., n B + t]``;
* ``orig`` ``(H, W, N B)`` (optional, simulated data only): the ground-truth frames.

Everything is returned as torch tensors in deq's layout: ``mask [B, H, W]``, ``meas [N, H, W]``,
``orig [N, B, H, W]``, intensities divided by one ``scale`` so that the video lies nominally in ``[0, 1]``
(``meas`` is divided by the same ``scale``, so ``meas = Phi(orig)`` still holds exactly).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io as sio
import torch
from torch import Tensor

from deq.core.errors import DataError
from deq.core.images import read_mat


class SCIDataError(DataError):
    """A SCI data file is missing a key or has inconsistent shapes; the message names file, key and shapes."""


@dataclass
class CactiData:
    """A CACTI measurement set.

    Attributes:
        meas: ``[N, H, W]`` float32 snapshots (already divided by ``scale``).
        mask: ``[B, H, W]`` float32 coding masks (binary masks stay in ``{0, 1}``; graded masks of real
            systems are divided by their maximum, and ``meas`` with them).
        orig: ``[N, B, H, W]`` float32 ground truth in ``[0, 1]``, or ``None`` for real data.
        scale: the intensity unit that ``meas`` and ``orig`` were divided by.
        name: a label (the file stem).
    """

    meas: Tensor
    mask: Tensor
    orig: Tensor | None
    scale: float
    name: str = ""

    @property
    def compression(self) -> int:
        """``B``: frames per snapshot."""
        return int(self.mask.shape[0])

    @property
    def n_groups(self) -> int:
        """``N``: number of snapshots."""
        return int(self.meas.shape[0])

    def video_batch(self) -> Tensor | None:
        """The ground truth as a batch of videos ``[N, 1, B, H, W]`` (``None`` for real data)."""
        return None if self.orig is None else self.orig[:, None]

    def meas_batch(self) -> Tensor:
        """The snapshots as ``[N, 1, H, W]`` (the layout of ``deq.operators.sci.CACTI``)."""
        return self.meas[:, None]


def pick_array(arrays: dict[str, np.ndarray], keys: tuple[str, ...], path: Path, required: bool = True) -> np.ndarray | None:
    """The first of ``keys`` present in ``arrays`` (an error listing the keys present when ``required``)."""
    for key in keys:
        if key in arrays:
            return np.asarray(arrays[key])
    if required:
        raise SCIDataError(f"'{path}' has no key {' or '.join(repr(k) for k in keys)}; keys present: {sorted(arrays)}")
    return None


def mask_from_array(mask: np.ndarray, where: str) -> Tensor:
    """``(H, W, B)`` MATLAB-order mask -> ``[B, H, W]`` float32 (graded masks are *not* rescaled here)."""
    if mask.ndim == 2:
        mask = mask[:, :, None]
    if mask.ndim != 3:
        raise SCIDataError(f"{where}: mask must be (H, W, B), got shape {mask.shape}")
    if not np.isfinite(mask.astype(np.float64)).all() or (mask < 0).any():
        raise SCIDataError(f"{where}: mask must be finite and non-negative")
    return torch.from_numpy(np.ascontiguousarray(mask.transpose(2, 0, 1)).astype(np.float32))


def meas_from_array(meas: np.ndarray, where: str) -> Tensor:
    """``(H, W)`` or ``(H, W, N)`` snapshots -> ``[N, H, W]`` float32."""
    if meas.ndim == 2:
        meas = meas[:, :, None]
    if meas.ndim != 3:
        raise SCIDataError(f"{where}: meas must be (H, W) or (H, W, N), got shape {meas.shape}")
    return torch.from_numpy(np.ascontiguousarray(meas.transpose(2, 0, 1)).astype(np.float32))


def auto_scale(meas: Tensor, mask: Tensor) -> float:
    """Intensity unit for real data without ground truth: the 99.9th percentile of ``meas / sum_t mask_t``
    (the per-pixel mean of the coded frames), so that the reconstructed video lies nominally in ``[0, 1]``."""
    msum = mask.sum(0).clamp_min(1e-6)
    ratio = (meas / msum).flatten()
    ratio = ratio[mask.sum(0).flatten().repeat(meas.shape[0]) > 0]
    return float(torch.quantile(ratio[: 2**24].double(), 0.999).clamp_min(1e-12))


def build_cacti(
    meas: np.ndarray,
    mask: np.ndarray,
    orig: np.ndarray | None = None,
    *,
    scale: float | None = None,
    name: str = "",
    where: str = "data",
) -> CactiData:
    """Check shapes and build a :class:`CactiData` from MATLAB-order arrays (see the module docstring).

    ``scale=None`` picks 255 when ``orig`` is given with values above 1 (8-bit data), 1 when ``orig`` is in
    ``[0, 1]``, and :func:`auto_scale` for real data without ``orig``.
    """
    mask_t = mask_from_array(mask, where)
    meas_t = meas_from_array(meas, where)
    b, h, w = mask_t.shape
    if tuple(meas_t.shape[1:]) != (h, w):
        raise SCIDataError(
            f"{where}: meas frames are {tuple(meas_t.shape[1:])} (H, W) but the mask is {(h, w)}; both must "
            f"have the same height and width"
        )
    mask_max = float(mask_t.max())
    if mask_max <= 0:
        raise SCIDataError(f"{where}: mask is all zeros")
    if mask_max > 1:  # graded mask of a real system: unit peak transmission, measurement with it
        mask_t = mask_t / mask_max
        meas_t = meas_t / mask_max
    orig_t = None
    if orig is not None:
        frames = orig[:, :, None] if orig.ndim == 2 else orig
        if frames.ndim != 3 or frames.shape[:2] != (h, w):
            raise SCIDataError(f"{where}: orig must be (H, W, frames) with H, W = {(h, w)}, got shape {orig.shape}")
        n = meas_t.shape[0]
        if frames.shape[2] < n * b:
            raise SCIDataError(
                f"{where}: orig has {frames.shape[2]} frames but meas has {n} snapshot(s) of B = {b} frames "
                f"(mask depth): need at least {n * b} frames; is the mask's B the one the data was made with?"
            )
        orig_t = torch.from_numpy(np.ascontiguousarray(frames[:, :, : n * b].transpose(2, 0, 1)).astype(np.float32))
        orig_t = orig_t.reshape(n, b, h, w)
        if scale is None:
            scale = 255.0 if float(orig_t.max()) > 1.0 + 1e-6 else 1.0
        orig_t = orig_t / scale
    if scale is None:
        scale = auto_scale(meas_t, mask_t)
    if scale <= 0:
        raise SCIDataError(f"{where}: scale must be positive, got {scale}")
    return CactiData(meas=meas_t / scale, mask=mask_t, orig=orig_t, scale=float(scale), name=name)


def load_cacti_mat(path: str | os.PathLike[str], *, scale: float | None = None) -> CactiData:
    """Load a ``*_cacti.mat`` file (keys ``meas``, ``mask``, optional ``orig``; any ``B``; v5 or v7.3).

    Returns a :class:`CactiData`; raises :class:`SCIDataError` naming the file for missing keys or
    inconsistent ``B``/``H``/``W``.
    """
    path = Path(path)
    arrays = read_mat(path)
    meas = pick_array(arrays, ("meas", "y"), path)
    mask = pick_array(arrays, ("mask", "Phi"), path)
    orig = pick_array(arrays, ("orig", "x"), path, required=False)
    return build_cacti(meas, mask, orig, scale=scale, name=path.stem, where=f"'{path}'")


def load_mask_mat(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(H, W, B)`` mask array of a .mat file (key ``mask``/``Phi``, or its only array)."""
    path = Path(path)
    arrays = read_mat(path)
    if len(arrays) == 1:
        return np.asarray(next(iter(arrays.values())))
    return pick_array(arrays, ("mask", "Phi"), path)


def load_video_folder(path: str | os.PathLike[str], *, max_frames: int | None = None) -> Tensor:
    """Frames of a folder of images (sorted by name) as a grayscale video ``[F, H, W]`` in ``[0, 1]``.

    Reading is deq-core's :func:`~deq.core.images.read_image` (colour frames become luminance); all frames
    must have one size.
    """
    from deq.core.images import IMAGE_SUFFIXES, image_files, read_image

    files = image_files(path, IMAGE_SUFFIXES)[:max_frames]
    frames = [read_image(p, channels=1)[0] for p in files]
    for name, frame in zip(files, frames):
        if frame.shape != frames[0].shape:
            raise SCIDataError(
                f"video folder '{path}': frame '{name.name}' is {tuple(frame.shape)}, the first frame is {tuple(frames[0].shape)}"
            )
    return torch.stack(frames)


def save_reconstruction_mat(path: str | os.PathLike[str], video: Tensor, *, scale: float = 1.0) -> Path:
    """Write a reconstruction ``[N, B, H, W]`` as ``recon (H, W, N B)`` (MATLAB order, times ``scale``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n, b, h, w = video.shape
    arr = (video.detach().cpu().double() * scale).reshape(n * b, h, w).permute(1, 2, 0).numpy()
    sio.savemat(path, {"recon": arr})
    return path
