"""Shipped denoiser weights: ``load_pretrained(name)`` -> model in eval mode.

Each ``<name>.pt`` in this folder is a weight file in deq-core's one format (:mod:`deq.core.weights`: kind
``"prior"``, the registered prior name and its constructor options, the state dict, the provenance), with the
same metadata in ``<name>.json`` beside it for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from deq.core.weights import load_weights

WEIGHTS_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the shipped weight files."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def weight_path(name: str) -> Path:
    """Path of the shipped weight file ``name``."""
    return WEIGHTS_DIR / f"{name}.pt"


def _how_to_obtain(name: str) -> str:
    meta = WEIGHTS_DIR / f"{name}.json"
    provenance = json.loads(meta.read_text())["provenance"] if meta.is_file() else {}
    if "init" in provenance:
        hint = f"It continues earlier training (`init` in {meta.name}): docs/priors.md gives every phase's command."
    elif provenance.get("command"):
        hint = f"Retrain it with: {provenance['command']}"
    else:
        hint = "See docs/priors.md for the training commands."
    return f"{hint} (reinstalling deq-priors restores the shipped file)."


def load_pretrained(name: str, map_location: Any = "cpu") -> nn.Module:
    """The shipped model ``name`` (e.g. ``"ffdnet-gray"``) with its weights, in eval mode.

    Raises:
        WeightsError: the file is missing, corrupted or does not fit its prior (names the file and how to
            obtain it).
        ValueError: ``name`` is not a shipped weight (lists the available ones).
    """
    path = weight_path(name)
    if not path.is_file() and not path.with_suffix(".json").is_file():
        raise ValueError(f"no shipped weights named {name!r}; available: {available()} (in {WEIGHTS_DIR})")
    return load_weights(path, kind="prior", how_to_obtain=_how_to_obtain(name), map_location=map_location)
