"""Figures of SCI reconstructions: a PNG grid of frames and an animated GIF (line plots: :mod:`deq.core.plots`)."""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor


def _frames(video: Tensor) -> np.ndarray:
    """``[T, H, W]`` or ``[1, 1, T, H, W]`` tensor -> ``[T, H, W]`` uint8."""
    v = video.detach().cpu().float().reshape(-1, *video.shape[-2:]).clamp(0, 1).numpy()
    return (v * 255 + 0.5).astype(np.uint8)


def save_grid(
    path: str | os.PathLike[str],
    videos: Mapping[str, Tensor],
    measurement: Tensor | None = None,
    captions: Mapping[str, str] | None = None,
    max_frames: int = 8,
    tile_inches: float = 1.5,
) -> Path:
    """One row per video (``name -> [.., T, H, W]``), one column per frame, plus the measurement in the first
    row; a narrow label column on the left, the tiles filling the rest of the figure edge to edge; written as an
    8-bit grayscale PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {k: _frames(v) for k, v in videos.items()}
    t = min(max_frames, min(v.shape[0] for v in rows.values()))
    first = 1 if measurement is not None else 0
    cols = t + first
    h, w = next(iter(rows.values())).shape[1:]
    label_in, title_in = 1.0, 0.22
    tile_h = tile_inches * h / w
    fig_w, fig_h = label_in + tile_inches * cols, title_in + tile_h * len(rows)
    fig = plt.figure(figsize=(fig_w, fig_h))
    grid = fig.add_gridspec(
        len(rows),
        cols + 1,
        width_ratios=[label_in / tile_inches] + [1] * cols,
        left=0.0,
        right=1.0,
        bottom=0.0,
        top=1 - title_in / fig_h,
        wspace=0.02,
        hspace=0.02,
    )
    for r, (name, frames) in enumerate(rows.items()):
        label = fig.add_subplot(grid[r, 0])
        label.axis("off")
        text = "\n".join(textwrap.wrap(name, 16)) + (f"\n{captions[name]}" if captions and name in captions else "")
        label.text(0.95, 0.5, text, ha="right", va="center", fontsize=8, transform=label.transAxes)
        for c in range(cols):
            ax = fig.add_subplot(grid[r, c + 1])
            ax.axis("off")
            if first and c == 0:
                if r == 0:
                    ax.imshow(measurement.detach().cpu().float().reshape(measurement.shape[-2:]).numpy(), cmap="gray")
                    ax.set_title("snapshot", fontsize=7, pad=2)
                continue
            ax.imshow(frames[c - first], cmap="gray", vmin=0, vmax=255)
            if r == 0:
                ax.set_title(f"frame {c - first + 1}", fontsize=7, pad=2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    Image.open(png).convert("L").save(path, optimize=True)  # all gray: 8-bit luminance, not RGBA (a quarter the size)
    return path


def save_gif(path: str | os.PathLike[str], videos: Mapping[str, Tensor], duration_ms: int = 200) -> Path:
    """Animated GIF with the videos side by side (same frame count and size), one GIF frame per video frame."""
    rows = [_frames(v) for v in videos.values()]
    t = min(v.shape[0] for v in rows)
    gap = np.full((rows[0].shape[1], 4), 255, np.uint8)
    tiles = [Image.fromarray(np.concatenate([x for v in rows for x in (v[k], gap)][:-1], axis=1)) for k in range(t)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tiles[0].save(path, save_all=True, append_images=tiles[1:], duration=duration_ms, loop=0)
    return path
