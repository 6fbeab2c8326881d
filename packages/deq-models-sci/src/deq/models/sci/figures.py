"""Figures of SCI reconstructions: a PNG grid of frames, an animated GIF, and a stability plot."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
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
) -> Path:
    """One row per video (``name -> [.., T, H, W]``), one column per frame, plus the measurement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {k: _frames(v) for k, v in videos.items()}
    t = min(max_frames, min(v.shape[0] for v in rows.values()))
    cols = t + (1 if measurement is not None else 0)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.6 * cols, 1.7 * len(rows)), squeeze=False)
    for r, (name, frames) in enumerate(rows.items()):
        for c in range(cols):
            ax = axes[r][c]
            ax.axis("off")
            if measurement is not None and c == 0:
                if r == 0:
                    m = measurement.detach().cpu().float().reshape(measurement.shape[-2:]).numpy()
                    ax.imshow(m, cmap="gray")
                    ax.set_title("snapshot", fontsize=7)
                continue
            k = c - (1 if measurement is not None else 0)
            ax.imshow(frames[k], cmap="gray", vmin=0, vmax=255)
            if r == 0:
                ax.set_title(f"frame {k + 1}", fontsize=7)
        label = name + (f"\n{captions[name]}" if captions and name in captions else "")
        axes[r][1 if measurement is not None else 0].text(
            -0.08,
            0.5,
            label,
            transform=axes[r][1 if measurement is not None else 0].transAxes,
            ha="right",
            va="center",
            fontsize=7,
        )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_gif(path: str | os.PathLike[str], videos: Mapping[str, Tensor], duration_ms: int = 200) -> Path:
    """Animated GIF with the videos side by side (same frame count and size), one GIF frame per video frame."""
    from PIL import Image

    rows = [_frames(v) for v in videos.values()]
    t = min(v.shape[0] for v in rows)
    gap = np.full((rows[0].shape[1], 4), 255, np.uint8)
    tiles = [Image.fromarray(np.concatenate([x for v in rows for x in (v[k], gap)][:-1], axis=1)) for k in range(t)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tiles[0].save(path, save_all=True, append_images=tiles[1:], duration=duration_ms, loop=0)
    return path


def save_stability_plot(
    path: str | os.PathLike[str], curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], title: str = ""
) -> Path:
    """PSNR (dB) against iteration count ``K`` (log axis), one line per method (``name -> (K, psnr)``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, (ks, ps) in curves.items():
        ax.plot(ks, ps, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("iterations K")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
