"""Benchmark figures as PNG files: lines of PSNR against a parameter, and grids of captioned images.

matplotlib is imported when a figure is made (the Agg backend, no display needed); it is the ``plots`` extra of
deq-core (``pip install deq-core[plots]``), and every model package that draws figures depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from torch import Tensor


def _pyplot():
    """matplotlib's pyplot on the Agg backend (imported only when a figure is made)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike[str], dpi: int) -> Path:
    """Lay out ``fig``, write it to ``path`` as PNG (parent folders created) and close it."""
    plt = _pyplot()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def save_curves(
    path: str | os.PathLike[str],
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    title: str,
    log_x: bool = False,
    marks: Mapping[str, float] | None = None,
) -> Path:
    """PSNR (dB) against ``xlabel``, one line per ``name -> (x, psnr)`` (a logarithmic x axis with ``log_x``);
    ``marks`` draws labelled vertical lines."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5.2, 3.5))
    for name, (xs, ys) in curves.items():
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    for label, x in (marks or {}).items():
        ax.axvline(x, color="gray", linestyle=":", linewidth=1)
        ax.text(x, ax.get_ylim()[0], f" {label}", rotation=90, va="bottom", fontsize=7, color="gray")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path, dpi=120)


def _array(image: Tensor) -> np.ndarray:
    """``[C, H, W]`` (C = 1 or 3) in ``[0, 1]`` -> ``[H, W]`` or ``[H, W, 3]`` float array for ``imshow``."""
    a = image.detach().cpu().float().clamp(0, 1).numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def save_image_grid(
    path: str | os.PathLike[str], rows: Sequence[Sequence[tuple[str, Tensor | None]]], title: str = "", cell: float = 2.2
) -> Path:
    """A PNG with one row per entry of ``rows``, each a sequence of ``(caption, image [C, H, W])``; an image ``None``
    is an empty cell with its caption (so a missing entry keeps the columns of the rows aligned)."""
    plt = _pyplot()

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * n_rows + 0.4), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row):
                caption, image = row[c]
                if image is not None:
                    ax.imshow(_array(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path, dpi=110)
