"""Splitting cubes into blocks of inter-dependent signals and putting them back (Gkillas et al. eq. 3, sec. VI-B1).

A block is an ``n x n`` patch of a ``d``-band cube: ``N = n^2`` spectra, i.e. the matrix ``Y in R^{d x N}`` of
eq. (3)-(4) (column ``i`` is the spectrum of pixel ``i`` in row-major order). The paper tiles each image with
non-overlapping blocks; where ``n`` does not divide a side, the last block is moved back to end at the border
(overlapping its neighbour) and the overlap is averaged, so every pixel is covered and no padding is invented.
"""

from __future__ import annotations

import torch
from torch import Tensor


def block_starts(size: int, n: int) -> list[int]:
    """Start offsets of the blocks along a side of ``size`` pixels: ``0, n, 2n, ...`` and ``size - n`` when ``n`` does
    not divide ``size``."""
    if n < 1 or size < n:
        raise ValueError(f"block size {n} must be between 1 and the cube's side {size}")
    starts = list(range(0, size - n + 1, n))
    if starts[-1] != size - n:
        starts.append(size - n)
    return starts


def to_blocks(x: Tensor, n: int) -> Tensor:
    """Cubes ``[B, d, H, W]`` -> blocks ``[B * nb, d, n, n]`` (cube-major, then rows of blocks, then columns),
    ``nb = len(block_starts(H, n)) * len(block_starts(W, n))``."""
    if x.dim() != 4:
        raise ValueError(f"to_blocks: expected cubes [B, d, H, W], got shape {list(x.shape)}")
    rows, cols = block_starts(x.shape[-2], n), block_starts(x.shape[-1], n)
    blocks = [x[:, :, r : r + n, c : c + n] for r in rows for c in cols]
    return torch.stack(blocks, 1).flatten(0, 1)


def from_blocks(blocks: Tensor, shape: tuple[int, int, int, int]) -> Tensor:
    """Blocks ``[B * nb, d, n, n]`` from :func:`to_blocks` -> cubes of ``shape`` ``(B, d, H, W)``, averaging where
    blocks overlap."""
    b, d, h, w = shape
    n = blocks.shape[-1]
    rows, cols = block_starts(h, n), block_starts(w, n)
    per = blocks.reshape(b, len(rows) * len(cols), d, n, n)
    if per.shape[0] * per.shape[1] != blocks.shape[0]:
        raise ValueError(f"from_blocks: {blocks.shape[0]} blocks do not tile {b} cube(s) of {h} x {w} with n = {n}")
    out = blocks.new_zeros(b, d, h, w)
    count = blocks.new_zeros(1, 1, h, w)
    k = 0
    for r in rows:
        for c in cols:
            out[:, :, r : r + n, c : c + n] += per[:, k]
            count[:, :, r : r + n, c : c + n] += 1
            k += 1
    return out / count


def as_signals(blocks: Tensor) -> Tensor:
    """Blocks ``[B, d, n, n]`` -> signal matrices ``Y [B, d, N]`` (eq. 3, ``N = n^2``)."""
    return blocks.flatten(-2)


def as_blocks(signals: Tensor, n: int) -> Tensor:
    """Signal matrices ``[B, d, N]`` -> blocks ``[B, d, n, n]`` (the CNN's layout)."""
    return signals.unflatten(-1, (n, n))
