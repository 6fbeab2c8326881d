"""The weights this package ships and how a trained model is loaded.

Weight files use deq-core's one format (:mod:`deq.core.weights`): kind ``"model"``, the registered name, the
factory keywords that rebuild the network (``task``, ``channels``, ``init``, ``learned_kernel``, ``stages``,
``solver``), the state dict and the provenance (command, data, steps, validation metrics). One file per model
and task and loss, ``weights/<model>_<task>_<loss>.pt`` (loss ``final``, or ``aux``: trained with the auxiliary
loss on every stage) with its JSON beside it; every one was trained on this project's CPU
for a few minutes (the JSON says exactly how long): they make the commands runnable and the comparisons
reproducible, not the paper's accuracy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from deq.core import weights as core_weights
from deq.core.errors import WeightsError

WEIGHTS_DIR = Path(__file__).parent / "weights"
HOW_TO_OBTAIN = (
    "deq-models-luser ships its weights as package data; reinstall the package, or train with "
    "`deq train luser --model MODEL --task TASK --out RUN` and pass weights=RUN/weights.pt."
)


LOSSES = ("final", "aux")


def shipped_path(model: str, task: str, loss: str = "final") -> Path:
    """Where the shipped weights of ``model`` for ``task`` trained with ``loss`` live (the file may not exist)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return WEIGHTS_DIR / f"{model}_{task}_{loss}.pt"


def shipped() -> dict[tuple[str, str, str], Path]:
    """The shipped weight files, ``{(model, task, loss): path}``."""
    out = {}
    for path in sorted(WEIGHTS_DIR.glob("*.pt")):
        model, task, loss = path.stem.split("_")
        out[(model, task, loss)] = path
    return out


def load_weights(
    model: str, *, task: str | None = None, weights: str | os.PathLike[str] | None = None, solver: dict[str, Any] | None = None
) -> nn.Module:
    """The trained ``model`` in eval mode from ``weights``, or the file shipped for ``task`` (final loss). ``solver`` overrides
    stored solver settings (DEQ4IP, LUSER). A missing file, one of another model, or one trained for another
    task than ``task`` is a :class:`~deq.core.errors.WeightsError`."""
    if weights is None:
        if task is None:
            raise ValueError(f"{model}: pretrained=True needs task=... (which shipped weights) or weights=PATH")
        path = shipped_path(model, task)
        if not path.is_file():
            have = ", ".join(f"{m}/{t}" for m, t, loss in shipped() if loss == "final") or "none"
            raise WeightsError(f"no shipped weights for {model} on task {task!r} (shipped: {have}). {HOW_TO_OBTAIN}")
    else:
        path = Path(weights)
    overrides = {"solver": solver} if solver else {}
    module = core_weights.load_weights(path, kind="model", name=model, how_to_obtain=HOW_TO_OBTAIN, **overrides)
    if task is not None and module.task != task:
        raise WeightsError(f"'{path}' holds {model} trained for task {module.task!r}, but task {task!r} was asked for")
    return module
