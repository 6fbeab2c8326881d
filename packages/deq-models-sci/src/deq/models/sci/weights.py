"""Building the equilibrium models (DE-GAP, DE-RNN) and loading the weights shipped inside this package.

A weight file (``torch.save`` of plain containers, loaded with ``weights_only=True``) holds

* ``config``: how to rebuild the network — ``model`` (``"de-gap"``, the default for files that do not say,
  or ``"de-rnn"``); for DE-GAP the deq-priors denoiser name and options and the temporal radius of
  :class:`~deq.models.sci.video.FrameWindow`, for DE-RNN the :class:`~deq.models.sci.dernn.BiRNN` options
  (``rnn_options``); and the solver settings;
* ``state_dict``: the iteration map's weights;
* ``provenance``: script, command, data, steps, seed and the final validation metrics (also written to a
  JSON file beside the weights).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from torch import nn

from deq.core.checkpoint import load_checked, save_atomic
from deq.models.sci.degap import DEGAP, EquilibriumSCI, SolverConfig
from deq.models.sci.video import as_video_denoiser

MODELS = ("de-gap", "de-rnn")
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "degap_cnn.pt"
#: the shipped DE-RNN (CPU-trained; see its JSON)
DERNN_WEIGHTS = WEIGHTS_DIR / "dernn.pt"
#: the same network after training stage 1 only (not as an equilibrium), for the stability comparison
STAGE1_WEIGHTS = WEIGHTS_DIR / "degap_cnn_stage1.pt"
HOW_TO_OBTAIN = (
    "deq-models-sci ships it as package data; reinstall the package, or train one with "
    "`python -m deq.models.sci.train --weights-out PATH` and pass weights=PATH."
)

#: the shipped network (DE-GAP-CNN): deq-priors' residual "cnn", 6 convolutions of 32 channels, on 3-frame windows
DEFAULT_DENOISER = "cnn"
DEFAULT_DENOISER_OPTIONS = {"depth": 6, "width": 32, "residual": True, "bias": True}
DEFAULT_RADIUS = 1


def build_denoiser(name: str, options: dict[str, Any], radius: int) -> nn.Module:
    """A video denoiser: deq-priors' image denoiser ``name`` (``in_channels = 2 radius + 1``) in a
    :class:`FrameWindow`, or a video denoiser as it is."""
    from deq.core.registry import create

    opts = dict(options)
    opts.setdefault("in_channels", 2 * radius + 1)
    return as_video_denoiser(create("prior", name, **opts), radius=radius)


def build_degap(
    denoiser: str = DEFAULT_DENOISER,
    denoiser_options: dict[str, Any] | None = None,
    radius: int = DEFAULT_RADIUS,
    **solver_options: Any,
) -> DEGAP:
    """A fresh DE-GAP; ``solver_options`` are :class:`SolverConfig` fields (unknown ones are an error)."""
    known = {f.name for f in fields(SolverConfig)}
    unknown = set(solver_options) - known
    if unknown:
        raise TypeError(f"build_degap: unknown solver option(s) {sorted(unknown)}; known: {sorted(known)}")
    opts = DEFAULT_DENOISER_OPTIONS if denoiser_options is None and denoiser == DEFAULT_DENOISER else (denoiser_options or {})
    return DEGAP(build_denoiser(denoiser, opts, radius), SolverConfig(**solver_options))


def model_config(
    model: str, denoiser: str, denoiser_options: dict[str, Any], radius: int, rnn_options: dict[str, Any], solver: SolverConfig
) -> dict[str, Any]:
    """The ``config`` entry of a weight file: what :func:`build_from_config` needs to rebuild ``model``."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if model == "de-rnn":
        return {"model": model, "rnn_options": dict(rnn_options), "solver": asdict(solver)}
    return {
        "model": model,
        "denoiser": denoiser,
        "denoiser_options": dict(denoiser_options),
        "radius": radius,
        "solver": asdict(solver),
    }


def model_of(config: dict[str, Any]) -> str:
    """The model a weight ``config`` is for (files written before DE-RNN had weights do not say: DE-GAP)."""
    return config.get("model", "de-gap")


def build_from_config(config: dict[str, Any], **solver_overrides: Any) -> EquilibriumSCI:
    """A fresh (untrained) DE-GAP or DE-RNN from the ``config`` of a weight file; ``solver_overrides``
    replace stored :class:`SolverConfig` fields."""
    from deq.models.sci.dernn import DERNN

    solver = {**config.get("solver", {}), **solver_overrides}
    model = model_of(config)
    if model == "de-rnn":
        return DERNN(**config["rnn_options"], config=SolverConfig(**solver))
    if model != "de-gap":
        raise ValueError(f"weight config names model {model!r}; expected one of {MODELS}")
    return build_degap(config["denoiser"], config["denoiser_options"], config["radius"], **solver)


def save_weights(model: EquilibriumSCI, config: dict[str, Any], provenance: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write weights + config + provenance atomically, and the config and provenance as JSON beside them."""
    path = Path(path)
    save_atomic({"config": config, "state_dict": model.map.state_dict(), "provenance": provenance}, path)
    path.with_suffix(".json").write_text(json.dumps({"config": config, "provenance": provenance}, indent=2) + "\n")
    return path


def load_weights(
    weights: str | os.PathLike[str] | None = None, *, model: str | None = None, **solver_overrides: Any
) -> EquilibriumSCI:
    """A trained DE-GAP or DE-RNN in eval mode, from ``weights`` or, by default, the file this package ships
    for ``model`` (``"de-gap"``: ``weights/degap_cnn.pt``, ``"de-rnn"``: ``weights/dernn.pt``).

    ``model`` given with ``weights`` is checked against the file (a DE-RNN file where DE-GAP was asked for is an
    error). ``solver_overrides`` replace stored :class:`SolverConfig` fields (e.g. ``max_iter=100``). Raises
    ``deq.core.checkpoint.WeightsError`` naming the file and how to obtain it when it is missing or unreadable.
    """
    if model is not None and model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    default = DERNN_WEIGHTS if model == "de-rnn" else DEFAULT_WEIGHTS
    path = Path(weights) if weights is not None else default
    blob = load_checked(path, how_to_obtain=HOW_TO_OBTAIN)
    config = blob["config"]
    found = model_of(config)
    if model is not None and found != model:
        raise ValueError(f"{path} holds {found} weights, but {model} was asked for")
    net = build_from_config(config, **solver_overrides)
    net.map.load_state_dict(blob["state_dict"])
    net.provenance = blob.get("provenance", {})
    return net.eval()
