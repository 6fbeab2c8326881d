"""Atomic checkpoints and safe weight loading.

Checkpoints are written to a temporary file in the target folder, flushed, fsynced and renamed over
the target, so a crash never leaves a half-written file. Everything is loaded with
``torch.load(weights_only=True)``: checkpoints hold only tensors and plain Python containers/scalars.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from deq.core.errors import WeightsError

__all__ = ["WeightsError", "load_checked", "save_atomic"]


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj, path)`` atomically (temp file in the same folder + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checked(path: str | os.PathLike[str], *, how_to_obtain: str = "", map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with errors that name the file and how to obtain it."""
    path = Path(path)
    hint = f" {how_to_obtain}" if how_to_obtain else ""
    if not path.is_file():
        raise WeightsError(f"weight file '{path}' does not exist.{hint}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupted, truncated, or not a weights-only file
        reason = (str(exc).strip().splitlines() or [""])[0][:200]  # torch's unpickling messages run to pages
        raise WeightsError(
            f"weight file '{path}' could not be read ({type(exc).__name__}: {reason}); it may be corrupted or truncated.{hint}"
        ) from exc
