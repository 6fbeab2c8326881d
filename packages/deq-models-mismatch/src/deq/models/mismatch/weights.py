"""The weights this package ships, all trained by deq from scratch (see each ``.json`` for how far):

* AWGN denoisers (kind ``"prior"``): ``mri-dncnn-awgn-S`` (grayscale DnCNN, CS-MRI) and ``sr-unet-awgn-S``
  (colour U-Net, super-resolution), ``S`` the noise level times 255, trained by ``deq train mismatch awgn``;
* AR priors (kind ``"model"``): ``mri-sd-red-ar`` (SD-RED, its DnCNN trained through the DEQ at 10 % sampling
  from ``mri-dncnn-awgn-5``) and ``sr-pnp-pgm-ar`` (PnP-PGM, its U-Net trained through the DEQ at s = 2 and 4
  from ``sr-unet-awgn-5``), trained by ``deq train mismatch ar``.

Every file is deq-core's one format (:mod:`deq.core.weights`), read with ``weights_only=True`` and rebuilt
through the registry.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from torch import nn

from deq.core import weights as core_weights

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: the shipped AR prior of each registered model
AR_WEIGHTS = {"sd-red": "mri-sd-red-ar", "pnp-pgm": "sr-pnp-pgm-ar"}
#: shipped AWGN prior names per task: ``{task}-{network}-awgn-{sigma*255}``
AWGN_PATTERN = re.compile(r"^(mri|sr)-(dncnn|unet)-awgn-(\d+(?:\.\d+)?)$")


def shipped(name: str) -> Path:
    """Path of the shipped weight file ``name`` (``WEIGHTS_DIR/name.pt``)."""
    return WEIGHTS_DIR / f"{name}.pt"


def available() -> list[str]:
    """Names of the shipped weight files."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def awgn_priors(task: str) -> dict[float, str]:
    """The shipped AWGN priors of ``task`` (``"mri"`` or ``"sr"``): ``{sigma (intensity scale): name}``."""
    out = {}
    for name in available():
        m = AWGN_PATTERN.match(name)
        if m and m.group(1) == task:
            out[float(m.group(3)) / 255] = name
    return dict(sorted(out.items()))


def how_to_obtain(name: str) -> str:
    """The command that trained the shipped file ``name`` (from its JSON), as a hint for error messages."""
    meta = WEIGHTS_DIR / f"{name}.json"
    command = json.loads(meta.read_text())["provenance"].get("command", "") if meta.is_file() else ""
    hint = f"Retrain it with: {command}" if command else "Train it with `deq train mismatch` (see docs/mismatch.md)."
    return f"{hint} (reinstalling deq-models-mismatch restores the shipped file)."


def resolve(name_or_path: str | os.PathLike[str]) -> tuple[Path, str]:
    """``(path, hint)`` of a shipped weight name or a file path."""
    text = os.fspath(name_or_path)
    if text in available() or (not text.endswith(".pt") and os.sep not in text and "/" not in text):
        if text not in available():
            raise ValueError(f"no shipped weights named {text!r}; available: {available()} (or pass a file path)")
        return shipped(text), how_to_obtain(text)
    return Path(text), "Pass a deq weight file (the weights.pt of a `deq train mismatch` run)."


def load_prior(name_or_path: str | os.PathLike[str]) -> nn.Module:
    """A denoiser from a shipped AWGN prior name (e.g. ``"mri-dncnn-awgn-5"``) or a deq prior weight file, in
    eval mode with ``.provenance``."""
    path, hint = resolve(name_or_path)
    return core_weights.load_weights(path, kind="prior", how_to_obtain=hint)


def load_model(model: str, weights: str | os.PathLike[str] | None = None, **overrides: Any) -> nn.Module:
    """The trained ``model`` (``"sd-red"`` or ``"pnp-pgm"``) from ``weights`` (a file path or shipped name;
    default: the shipped AR prior of that model); ``overrides`` replace stored options (``tau``, ``gamma``, and
    ``solver`` fields merged into the stored ones)."""
    path, hint = resolve(AR_WEIGHTS[model] if weights is None else weights)
    return core_weights.load_weights(path, kind="model", name=model, how_to_obtain=hint, **overrides)
