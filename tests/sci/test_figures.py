"""The SCI frame grid: an 8-bit grayscale PNG with one row of tiles per video."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from deq.models.sci.figures import save_grid


def test_grid_is_a_grayscale_png_with_a_row_per_video(tmp_path):
    bright, dark = torch.full((4, 32, 32), 0.9), torch.full((4, 32, 32), 0.1)
    path = save_grid(tmp_path / "grid.png", {"bright": bright, "dark": dark}, measurement=torch.rand(32, 32))
    image = Image.open(path)
    assert image.mode == "L"
    pixels = np.asarray(image, dtype=float)
    h, w = pixels.shape
    tiles = pixels[:, w // 2 :]  # right of the label column and the snapshot: frame tiles only
    top, bottom = tiles[int(0.15 * h) : int(0.5 * h)], tiles[int(0.6 * h) :]
    assert top.mean() > 180 and bottom.mean() < 80
