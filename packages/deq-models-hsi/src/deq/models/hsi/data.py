"""The hyperspectral scenes, their preparation to ``d = 31`` bands, the leave-one-scene-out folds and the noise.

Gkillas et al. (sec. VI-A) train and test on ICVL (31 bands, 1300 x 1300), which is not available here. The
real cubes of ``shared/data/hsi`` stand in (see its README): HYDICE urban (100 x 80 x 162), ABU beach
(100 x 100 x 102) and ABU urban (100 x 100 x 198, with negative values). Each cube is prepared the same way
(:func:`prepare_cube`):

1. negative values are clipped to 0;
2. dead bands (mean below ``dead_fraction`` of the brightest band's mean: the water-absorption bands of ABU
   urban) and saturated bands (more than ``saturated_fraction`` of their pixels, and more than one, at the cube's
   maximum) are dropped;
3. the remaining bands are binned into ``bands`` groups of adjacent bands (as equal as possible) and averaged,
   so that ``d = 31`` as in the paper;
4. the cube is divided by its ``percentile``-th percentile and clipped to ``[0, 1]`` (a robust maximum: a few
   anomalous pixels, which the ABU scenes are made for, would otherwise darken the whole cube).

Cubes are tensors ``[d, H, W]``. A :class:`Fold` leaves one scene out of everything that is learned (dictionary,
CNN, end-to-end training) for testing; the last ``val_rows`` rows of each training scene are held out for
validation and for choosing the baselines' parameters. Noise is AWGN of level ``sigma`` on the 0-255 scale
(the paper's sigma = 30, 50, 70: noisy PSNR 18.54 / 14.12 / 11.21 dB).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from deq.core.data import find_data
from deq.core.errors import DataError

#: the number of bands ``d`` of the paper's cubes (ICVL, 400-700 nm in 10 nm steps)
BANDS = 31
#: the paper's noise levels on the 0-255 scale
SIGMAS = (30, 50, 70)


@dataclass(frozen=True)
class Scene:
    """A cube in the benchmark data: its path under the data root, the ``.mat`` key and a description."""

    path: str
    key: str
    description: str


#: the three scenes of ``shared/data/hsi`` used for training and testing (IMAGE.mat has 17 bands, fewer than 31)
SCENES = {
    "hydice-urban": Scene("hsi/HYDICE_data.mat", "data", "HYDICE urban, 100 x 80 x 162, uint16"),
    "abu-beach": Scene("hsi/abu-beach-4.mat", "data", "ABU beach 4, 100 x 100 x 102, float in [0, 1]"),
    "abu-urban": Scene("hsi/abu-urban-2.mat", "data", "ABU urban 2, 100 x 100 x 198, int16 with negatives"),
}


@dataclass(frozen=True)
class Preparation:
    """How a raw cube became a ``d``-band cube: the kept source bands, the groups averaged into each output band
    and the intensity that maps to 1."""

    kept: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    scale: float

    def summary(self, source_bands: int) -> str:
        """One line: bands kept of the source, group sizes and the scale."""
        sizes = sorted({len(g) for g in self.groups})
        return (
            f"{len(self.kept)} of {source_bands} bands kept, binned into {len(self.groups)} groups of "
            f"{'/'.join(map(str, sizes))} adjacent bands, divided by {self.scale:.4g}"
        )


def prepare_cube(
    raw: np.ndarray,
    bands: int = BANDS,
    *,
    dead_fraction: float = 0.02,
    saturated_fraction: float = 0.01,
    percentile: float = 99.9,
) -> tuple[Tensor, Preparation]:
    """A raw cube ``(H, W, C)`` (MATLAB order, any numeric type) as a float32 tensor ``[bands, H, W]`` in
    ``[0, 1]`` (see the module docstring for the four steps) and the :class:`Preparation` that made it.

    Raises:
        DataError: the array is not 3-D, is not finite, or keeps fewer than ``bands`` bands.
    """
    arr = np.asarray(raw)
    if arr.ndim != 3 or arr.dtype.kind not in "fiu":
        raise DataError(f"a hyperspectral cube must be a numeric (H, W, C) array, got shape {arr.shape} of {arr.dtype}")
    x = np.clip(arr.astype(np.float64), 0.0, None)
    if not np.isfinite(x).all():
        raise DataError("the hyperspectral cube holds NaN or Inf values")
    per_band = x.reshape(-1, x.shape[2])
    means = per_band.mean(0)
    at_max = (per_band >= x.max()).sum(0)  # a single brightest pixel is not saturation, however small the cube
    saturated = (at_max > 1) & (at_max > saturated_fraction * per_band.shape[0])
    kept = np.flatnonzero((means >= dead_fraction * means.max()) & ~saturated)
    if kept.size < bands:
        raise DataError(
            f"only {kept.size} of {x.shape[2]} bands are neither dead nor saturated; {bands} are needed "
            f"(dead: mean < {dead_fraction} x the brightest band's; saturated: > {saturated_fraction} of pixels at the maximum)"
        )
    groups = tuple(tuple(int(b) for b in g) for g in np.array_split(kept, bands))
    binned = np.stack([x[:, :, list(g)].mean(2) for g in groups])
    scale = float(np.percentile(binned, percentile))
    if not scale > 0:
        raise DataError(f"the cube's {percentile}th percentile is {scale}; an all-dark cube cannot be normalised")
    cube = torch.from_numpy(np.clip(binned / scale, 0.0, 1.0)).float()
    return cube, Preparation(tuple(int(k) for k in kept), groups, scale)


@dataclass(frozen=True)
class HSIScene:
    """A prepared scene: its name, the cube ``[d, H, W]`` in ``[0, 1]``, the source band count and the preparation."""

    name: str
    cube: Tensor
    source_bands: int
    preparation: Preparation

    def note(self) -> str:
        """One line for provenances and benchmark tables."""
        d, h, w = self.cube.shape
        return f"{self.name} ({h} x {w}; {self.preparation.summary(self.source_bands)})"


def load_scene(name: str, data_dir: str | os.PathLike[str] | None = None, bands: int = BANDS) -> HSIScene:
    """The prepared scene ``name`` (one of :data:`SCENES`) from the benchmark data root (never downloaded)."""
    if name not in SCENES:
        raise ValueError(f"unknown hyperspectral scene {name!r}; the scenes are {sorted(SCENES)}")
    return _load_scene(name, None if data_dir is None else str(data_dir), bands)


@lru_cache(maxsize=8)
def _load_scene(name: str, data_dir: str | None, bands: int) -> HSIScene:
    from deq.core.images import read_mat

    scene = SCENES[name]
    path = find_data(scene.path, data_dir)
    arrays = read_mat(path)
    if scene.key not in arrays:
        raise DataError(f"'{path}' has no key {scene.key!r}; keys present: {sorted(arrays)}")
    raw = arrays[scene.key]
    cube, prep = prepare_cube(raw, bands)
    return HSIScene(name, cube, int(raw.shape[2]), prep)


@dataclass(frozen=True)
class Fold:
    """One leave-one-scene-out split: ``test`` is held out of all training; the top rows of each ``train`` scene
    train, the last ``val_rows`` rows validate."""

    test: str
    train: tuple[str, ...] = field(default=())
    val_rows: int = 20

    def __post_init__(self) -> None:
        if self.test not in SCENES:
            raise ValueError(f"unknown held-out scene {self.test!r}; the scenes are {sorted(SCENES)}")
        if not self.train:
            object.__setattr__(self, "train", tuple(s for s in SCENES if s != self.test))
        if self.test in self.train:
            raise ValueError(f"the held-out scene {self.test!r} cannot also be a training scene")

    def training_cubes(self, data_dir: str | os.PathLike[str] | None = None) -> list[Tensor]:
        """The training parts ``[d, H - val_rows, W]`` of the training scenes."""
        return [load_scene(s, data_dir).cube[:, : -self.val_rows] for s in self.train]

    def validation_cubes(self, data_dir: str | os.PathLike[str] | None = None) -> list[Tensor]:
        """The held-out last ``val_rows`` rows ``[d, val_rows, W]`` of each training scene."""
        return [load_scene(s, data_dir).cube[:, -self.val_rows :] for s in self.train]

    def test_cube(self, data_dir: str | os.PathLike[str] | None = None) -> Tensor:
        """The whole held-out scene ``[d, H, W]``."""
        return load_scene(self.test, data_dir).cube

    def note(self, data_dir: str | os.PathLike[str] | None = None) -> str:
        """Which scenes train, validate and test, for provenances."""
        train = "; ".join(load_scene(s, data_dir).note() for s in self.train)
        return (
            f"shared/data/hsi, leave-one-scene-out fold: trained on {train}, except their last {self.val_rows} rows "
            f"(validation); {self.test} held out of all training (test)"
        )


def add_noise(x: Tensor, sigma: float | Tensor, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
    """``x + sigma / 255 * n`` with ``n`` standard normal (AWGN on the 0-255 scale, eq. 4), drawn from ``generator``
    or a generator seeded with ``seed``; ``sigma`` a number or a ``[B]`` tensor (one level per sample)."""
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    s = torch.as_tensor(sigma, dtype=x.dtype) / 255.0
    if s.dim() == 1:
        s = s.reshape(-1, *([1] * (x.dim() - 1)))
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return x + s.to(x.device) * noise


def spectral_augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """Random spectral changes of clean training blocks ``x [B, d, n, n]`` in ``[0, 1]``, so that a network learned on
    two scenes (two sensors) transfers to a third: per block, with probability 1/2 the band order is reversed; the
    spectrum is multiplied by a smooth random gain ``exp(c0 + c1 t + c2 (t^2 - 1/3))`` over ``t in [-1, 1]`` with
    ``c_i ~ U(-0.4, 0.4)`` (then divided by its maximum where it exceeds 1); and the block is scaled by ``U(0.5, 1)``.

    Chosen by nested cross-validation inside the training scenes only (the CNN trained on one training scene,
    validated on the other, 1500 steps): hydice-urban -> abu-urban 18.92 / 18.70 / 18.45 dB without, 22.71 / 22.57 /
    22.39 dB with it; abu-beach -> abu-urban 20.81 / 20.79 / 20.74 dB without, 23.38 / 23.27 / 23.10 dB with it
    (sigma 30 / 50 / 70)."""
    b, d = x.shape[:2]
    reverse = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    x = torch.where(reverse[:, None, None, None], x.flip(1), x)
    t = torch.linspace(-1, 1, d, dtype=x.dtype)
    c = (torch.rand(b, 3, generator=generator, dtype=x.dtype) - 0.5) * 0.8
    gain = torch.exp(c[:, :1] + c[:, 1:2] * t + c[:, 2:3] * (t**2 - 1 / 3)).to(x.device)
    x = x * gain[:, :, None, None]
    x = x / x.flatten(1).amax(1).clamp(min=1.0)[:, None, None, None]
    return x * (0.5 + 0.5 * torch.rand(b, 1, 1, 1, generator=generator, dtype=x.dtype)).to(x.device)
