"""Locating benchmark data on disk. Nothing is ever downloaded.

Search order for the data root (:func:`data_roots`):

1. an explicit ``data_dir`` (``--data-dir`` on the command line); when given, it is the only place searched;
2. the ``DEQ_DATA`` environment variable;
3. ``shared/data`` beside the deq checkout that deq-core is installed from (``<checkout>/../shared/data``, the
   layout the README describes; :func:`find_checkout`), wherever the command runs;
4. fallbacks relative to the current directory, for a copy of deq installed from a checkout without
   ``pip install -e`` (whose location no longer leads back to the checkout): ``./shared/data`` and
   ``../shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

from deq.core.errors import DataNotFoundError

__all__ = ["DataNotFoundError", "data_roots", "find_checkout", "find_data"]


def find_checkout() -> Path | None:
    """The deq checkout deq-core is installed from (the folder holding ``packages/`` and ``noxfile.py``, found by
    walking up from ``deq/core``), or ``None`` for an installed copy that lives outside a checkout."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "packages").is_dir() and (folder / "noxfile.py").is_file():
            return folder
    return None


def data_roots(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Candidate data roots in search order (existing or not, without repeats)."""
    if data_dir is not None:
        return [Path(data_dir)]
    roots = [Path(os.environ["DEQ_DATA"])] if os.environ.get("DEQ_DATA") else []
    checkout = find_checkout()
    if checkout is not None:
        roots.append(checkout.parent / "shared" / "data")
    roots += [Path.cwd() / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    unique: dict[Path, Path] = {}
    for root in roots:
        unique.setdefault(root.resolve(), root)
    return list(unique.values())


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
