"""Shipped denoiser weights: ``load_pretrained(name)`` -> model in eval mode.

Each ``<name>.pt`` in this folder is a weights-only dictionary::

    {"prior": registered prior name, "options": constructor options, "state_dict": ...,
     "provenance": {"script", "command", "data", "epochs", "seed", "val_psnr", "test_psnr", ...}}

with the same provenance in ``<name>.json`` beside it for humans. Files are read with
``torch.load(weights_only=True)`` (:func:`deq.core.checkpoint.load_checked`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from deq.core.checkpoint import WeightsError, load_checked

WEIGHTS_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the shipped weight files."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def weight_path(name: str) -> Path:
    """Path of the shipped weight file ``name``."""
    return WEIGHTS_DIR / f"{name}.pt"


def _how_to_obtain(name: str) -> str:
    meta = WEIGHTS_DIR / f"{name}.json"
    command = ""
    if meta.is_file():
        command = json.loads(meta.read_text()).get("command", "")
    hint = f"Retrain it with: {command}" if command else "See docs/priors.md for the training commands."
    return f"{hint} then export it with `python -m deq.priors.export` (reinstalling deq-priors restores the shipped file)."


def load_pretrained(name: str, map_location: Any = "cpu") -> nn.Module:
    """The shipped model ``name`` (e.g. ``"ffdnet-gray"``) with its weights, in eval mode.

    Raises:
        WeightsError: the file is missing or corrupted (names the file and how to obtain it).
        ValueError: ``name`` is not a shipped weight (lists the available ones).
    """
    path = weight_path(name)
    if not path.is_file() and not (WEIGHTS_DIR / f"{name}.json").is_file():
        raise ValueError(f"no shipped weights named {name!r}; available: {available()} (in {WEIGHTS_DIR})")
    blob = load_checked(path, how_to_obtain=_how_to_obtain(name), map_location=map_location)
    try:
        from deq.priors.train import build_prior

        model = build_prior(blob["prior"], dict(blob["options"]))
        model.load_state_dict(blob["state_dict"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise WeightsError(
            f"weight file '{path}' does not match its prior ({type(exc).__name__}: {exc}). {_how_to_obtain(name)}"
        ) from exc
    model.provenance = blob.get("provenance", {})
    return model.eval()
