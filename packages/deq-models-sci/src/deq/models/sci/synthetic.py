"""Synthetic videos for training and for the embedded demo.

DAVIS is not available offline, so training clips are synthesised from still natural images: a random
crop is moved along a smooth random trajectory (translation with constant acceleration, rotation and
zoom), rendered by bilinear resampling (``torch.nn.functional.grid_sample``), giving ``B``-frame clips
that are measured with random binary masks. Frame ``t`` samples the source image at

    p_in = c + v t + a t^2 / 2 + (1 / s_t) R(omega t) u,      s_t = 1 + zeta t,          (1)

for output-pixel offsets ``u`` from the crop centre ``c``. The test scenes of the benchmarks (Drop,
Runner, park) are never used: training images come from ``natural/DnCNN_Train400``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset


@dataclass(frozen=True)
class MotionRange:
    """Bounds of the random trajectory (1): per-frame speed (px), acceleration (px/frame^2), rotation
    (degrees/frame) and zoom rate (relative/frame)."""

    speed: float = 2.5
    accel: float = 0.3
    rotation: float = 1.5
    zoom: float = 0.02


def render_motion(
    image: Tensor,
    size: int | tuple[int, int],
    frames: int,
    *,
    center: tuple[float, float],
    velocity: tuple[float, float] = (0.0, 0.0),
    accel: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
    zoom: float = 0.0,
) -> Tensor:
    """Render a moving crop of ``image`` ``[H0, W0]`` as a video ``[frames, h, w]`` following (1).

    ``center``, ``velocity`` and ``accel`` are ``(x, y)`` in pixels (per frame, per frame^2); borders are
    reflected if the footprint leaves the image.
    """
    if image.dim() != 2:
        raise ValueError(f"render_motion: image must be [H, W], got shape {list(image.shape)}")
    h, w = (size, size) if isinstance(size, int) else size
    h0, w0 = image.shape
    t = torch.arange(frames, dtype=torch.float64)
    scale = (1.0 + zoom * t).clamp_min(0.2)
    angle = torch.deg2rad(rotation_deg * t)
    cx = center[0] + velocity[0] * t + 0.5 * accel[0] * t * t
    cy = center[1] + velocity[1] * t + 0.5 * accel[1] * t * t
    theta = torch.zeros(frames, 2, 3, dtype=torch.float64)
    # normalised input coordinates n = (p - W0/2) / (W0/2); output u spans [-w/2, w/2] pixels
    theta[:, 0, 0] = torch.cos(angle) / scale * (w / w0)
    theta[:, 0, 1] = -torch.sin(angle) / scale * (h / w0)
    theta[:, 1, 0] = torch.sin(angle) / scale * (w / h0)
    theta[:, 1, 1] = torch.cos(angle) / scale * (h / h0)
    theta[:, 0, 2] = (cx - w0 / 2) / (w0 / 2)
    theta[:, 1, 2] = (cy - h0 / 2) / (h0 / 2)
    grid = F.affine_grid(theta.to(image.dtype), [frames, 1, h, w], align_corners=False)
    src = image[None, None].expand(frames, 1, h0, w0)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=False)[:, 0]


def random_motion_clip(
    image: Tensor, size: int, frames: int, generator: torch.Generator, motion: MotionRange = MotionRange()
) -> Tensor:
    """A random moving crop ``[frames, size, size]`` of ``image`` ``[H0, W0]`` with motion drawn from ``motion``."""
    h0, w0 = image.shape

    def u(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))

    speed, heading = u(0, motion.speed), u(0, 2 * math.pi)
    velocity = (speed * math.cos(heading), speed * math.sin(heading))
    acc = (u(-motion.accel, motion.accel), u(-motion.accel, motion.accel))
    travel = [abs(v) * frames + abs(a) * frames**2 / 2 for v, a in zip(velocity, acc)]
    radius = size / 2 * math.sqrt(2) * (1 + motion.zoom * frames)
    lo_x, hi_x = radius + travel[0], w0 - radius - travel[0]
    lo_y, hi_y = radius + travel[1], h0 - radius - travel[1]
    cx = u(lo_x, hi_x) if hi_x > lo_x else w0 / 2
    cy = u(lo_y, hi_y) if hi_y > lo_y else h0 / 2
    # start so that the trajectory's midpoint is the drawn centre
    mid = frames / 2
    start = (cx - velocity[0] * mid - acc[0] * mid * mid / 2, cy - velocity[1] * mid - acc[1] * mid * mid / 2)
    return render_motion(
        image,
        size,
        frames,
        center=start,
        velocity=velocity,
        accel=acc,
        rotation_deg=u(-motion.rotation, motion.rotation),
        zoom=u(-motion.zoom, motion.zoom),
    ).clamp(0.0, 1.0)


def random_binary_mask(frames: int, height: int, width: int, generator: torch.Generator | None = None, p: float = 0.5) -> Tensor:
    """An i.i.d. Bernoulli(``p``) coding mask ``[frames, height, width]`` (float32 in ``{0, 1}``)."""
    return (torch.rand(frames, height, width, generator=generator) < p).float()


def load_image_folder(path: str | os.PathLike[str]) -> list[Tensor]:
    """Grayscale images ``[H, W]`` in ``[0, 1]`` of a folder (sorted by name), read by deq-core's
    :func:`~deq.core.images.load_images`."""
    from deq.core.images import load_images

    return [im[0] for im in load_images(path, channels=1)]


MASK_KINDS = ("binary", "shifting")


def random_mask(kind: str, frames: int, height: int, width: int, generator: torch.Generator) -> Tensor:
    """A coding mask ``[frames, height, width]`` of ``kind``: ``"binary"`` (i.i.d. Bernoulli(1/2),
    :func:`random_binary_mask`) or ``"shifting"`` — one graded random pattern (values uniform in ``[0, 1]``, as the
    transmission of a physical mask normalised to its peak) translated by one pixel per frame, the way a real CACTI
    camera moves its mask (the B = 14 fan data)."""
    if kind == "binary":
        return random_binary_mask(frames, height, width, generator)
    if kind == "shifting":
        base = torch.rand(height, width + frames, generator=generator)
        return torch.stack([base[:, t : t + width] for t in range(frames)])
    raise ValueError(f"mask kind must be one of {MASK_KINDS}, got {kind!r}")


class SyntheticVideoDataset(Dataset):
    """Deterministic synthetic SCI training pairs made from still images.

    Item ``i`` is ``(video [1, frames, size, size], mask [frames, size, size])``: a random moving crop (1)
    of a random image and a random binary mask, both drawn from a generator seeded with ``(seed, i)``,
    so every epoch, worker and rank sees the same item ``i`` (``epoch`` reshuffles the draw).
    """

    def __init__(
        self,
        images: list[Tensor],
        *,
        length: int,
        size: int = 64,
        frames: int = 8,
        seed: int = 0,
        motion: MotionRange = MotionRange(),
        fixed_mask: Tensor | None = None,
        masks: tuple[str, ...] = ("binary",),
    ) -> None:
        if not images:
            raise ValueError("SyntheticVideoDataset: need at least one image")
        small = [tuple(im.shape) for im in images if min(im.shape) < size]
        if small:
            raise ValueError(f"SyntheticVideoDataset: crop size {size} exceeds image sizes {small[:3]}")
        if fixed_mask is not None and tuple(fixed_mask.shape) != (frames, size, size):
            raise ValueError(
                f"SyntheticVideoDataset: fixed_mask must be [{frames}, {size}, {size}], got {list(fixed_mask.shape)}"
            )
        self.images, self.length, self.size, self.frames = images, length, size, frames
        if not masks or any(k not in MASK_KINDS for k in masks):
            raise ValueError(f"SyntheticVideoDataset: masks must be a non-empty subset of {MASK_KINDS}, got {masks}")
        self.seed, self.motion, self.fixed_mask, self.masks, self.epoch = seed, motion, fixed_mask, tuple(masks), 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        g = torch.Generator().manual_seed(hash((self.seed, self.epoch, index)) % (2**63))
        image = self.images[int(torch.randint(len(self.images), (), generator=g))]
        if bool(torch.rand((), generator=g) < 0.5):
            image = image.flip(-1)
        video = random_motion_clip(image, self.size, self.frames, g, self.motion)
        kind = self.masks[int(torch.randint(len(self.masks), (), generator=g))] if len(self.masks) > 1 else self.masks[0]
        mask = self.fixed_mask if self.fixed_mask is not None else random_mask(kind, self.frames, self.size, self.size, g)
        return video[None], mask


def demo_scene(size: int = 128, frames: int = 8, seed: int = 0) -> tuple[Tensor, Tensor]:
    """The embedded demo: scikit-image's ``camera`` photograph moving (translation, slight rotation and
    zoom) as a video ``[1, 1, frames, size, size]``, and a random binary mask ``[frames, size, size]``.

    Uses only data shipped inside scikit-image; deterministic for a given ``seed``.
    """
    from skimage import data as skdata

    cam = torch.from_numpy(skdata.camera().astype(np.float32) / 255.0)  # 512 x 512
    cam = F.interpolate(cam[None, None], size=(2 * size, 2 * size), mode="area")[0, 0]
    video = render_motion(
        cam,
        size,
        frames,
        center=(0.95 * size, 0.8 * size),
        velocity=(1.5, 0.75),
        rotation_deg=0.6,
        zoom=0.01,
    ).clamp(0.0, 1.0)
    mask = random_binary_mask(frames, size, size, torch.Generator().manual_seed(seed))
    return video[None, None], mask
