"""The figures of the experiments: a grid of images with captions (Hu et al. Fig. 2-4)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import Tensor


def _array(image: Tensor) -> np.ndarray:
    """``[C, H, W]`` (C = 1 or 3) in ``[0, 1]`` -> ``[H, W]`` or ``[H, W, 3]`` float array for ``imshow``."""
    a = image.detach().cpu().float().clamp(0, 1).numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def save_image_grid(
    path: str | os.PathLike[str], rows: Sequence[Sequence[tuple[str, Tensor]]], title: str = "", cell: float = 2.2
) -> Path:
    """A PNG with one row per entry of ``rows``, each a sequence of ``(caption, image [C, H, W])``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * n_rows + 0.4), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row):
                caption, image = row[c]
                ax.imshow(_array(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
