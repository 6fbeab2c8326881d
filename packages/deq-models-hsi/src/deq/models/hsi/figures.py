"""Line plots of the benchmark's figures (PSNR against iterations, Fig. 7; against the block size, Fig. 6)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path


def save_curves(
    path: str | os.PathLike[str],
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    title: str,
    log_x: bool = False,
    marks: Mapping[str, float] | None = None,
) -> Path:
    """PSNR (dB) against ``xlabel``, one line per ``name -> (x, psnr)``; ``marks`` draws labelled vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
