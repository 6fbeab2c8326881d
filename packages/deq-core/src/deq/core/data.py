"""Locating benchmark data on disk. Nothing is ever downloaded.

Search order for the data root: an explicit ``data_dir`` argument (``--data-dir`` on the CLI), the
``DEQ_DATA`` environment variable, then ``./shared/data`` and ``../shared/data`` relative to the working
directory (the layout of a deq checkout with the benchmark folder beside it).
"""

from __future__ import annotations

import os
from pathlib import Path

from deq.core.errors import DataNotFoundError

__all__ = ["DataNotFoundError", "data_roots", "find_data"]


def data_roots(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Candidate data roots in search order (existing or not)."""
    if data_dir is not None:
        return [Path(data_dir)]
    roots = []
    if os.environ.get("DEQ_DATA"):
        roots.append(Path(os.environ["DEQ_DATA"]))
    roots += [Path.cwd() / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    return roots


def find_data(relpath: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of ``relpath`` (e.g. ``"sci/drop40_cacti.mat"``) under the first data root that has it.

    Raises:
        DataNotFoundError: naming the file, every place searched, and how to point deq at the data.
    """
    roots = data_roots(data_dir)
    for root in roots:
        candidate = root / relpath
        if candidate.exists():
            return candidate
    searched = ", ".join(str(r) for r in roots)
    raise DataNotFoundError(
        f"benchmark data '{relpath}' not found (searched: {searched}). Pass --data-dir DIR or set "
        f"DEQ_DATA=DIR to the folder that holds the deq benchmark data (see shared/data/README.md); "
        f"deq never downloads data."
    )
