"""The weights this package ships and how its models and dictionaries are rebuilt from weight files.

Every file is in deq-core's one format (:mod:`deq.core.weights`), named ``NAME_HELDOUT.pt`` with a JSON beside it:
for each leave-one-scene-out fold (``HELDOUT`` is the scene held out of all its training, see
:class:`deq.models.hsi.data.Fold`) the K-SVD dictionary (kind ``operator``, ``ksvd-dictionary``), the pretrained CNN
the end-to-end training started from (kind ``prior``, ``hsi-cnn``; for the benchmark's "CNN alone" row) and the four
learned models (kind ``model``). These are *blind*: trained over every noise level of
:data:`deq.models.hsi.data.SIGMAS`. For the levels of :data:`LEVEL_WEIGHTS` the CNN and the four models are also
shipped trained at that level alone (``NAME_HELDOUT_sigmaS.pt``, with a residual CNN: docs/hsi.md says why);
``sigma=S`` selects them, every other level uses the blind files. ``pretrained=True`` without a file loads the fold
that holds out :data:`DEFAULT_HELD_OUT`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from deq.core import weights as core_weights
from deq.models.hsi.dictionary import NAME as DICTIONARY

MODELS = ("du-full-sc", "deq-full-sc", "du-fast-sc", "deq-fast-sc")
PRIOR = "hsi-cnn"
WEIGHTS_DIR = Path(__file__).parent / "weights"
#: the fold whose weights ``pretrained=True`` loads by default (trained on ABU beach and ABU urban)
DEFAULT_HELD_OUT = "hydice-urban"
#: noise levels (0-255) with CNN and model weights trained at that level alone (the dictionaries are shared)
LEVEL_WEIGHTS = (30,)
HOW_TO_OBTAIN = (
    "deq-models-hsi ships it as package data; reinstall the package, or make one with `deq train hsi-dictionary` / "
    "`deq train hsi` (see docs/hsi.md) and pass weights=RUN/weights.pt."
)


def trained_level(name: str, sigma: float | None) -> int | None:
    """The level ``S`` (0-255) where ``name`` (a model or the CNN) has weights trained at the noise level ``sigma``
    alone (:data:`LEVEL_WEIGHTS`), else ``None``: the blind weights serve (the dictionary has no per-level file)."""
    if sigma is None or name == DICTIONARY or sigma not in LEVEL_WEIGHTS:
        return None
    return int(sigma)


def shipped(name: str, held_out: str = DEFAULT_HELD_OUT, sigma: float | None = None) -> Path:
    """The shipped weight file of ``name`` (a model of :data:`MODELS`, ``"ksvd-dictionary"`` or ``"hsi-cnn"``) for the
    fold that holds out ``held_out``: trained at the noise level ``sigma`` (0-255) alone where :data:`LEVEL_WEIGHTS`
    has it, else the blind file."""
    from deq.models.hsi.data import SCENES

    if name not in (*MODELS, DICTIONARY, PRIOR):
        raise ValueError(f"no shipped weights for {name!r}; there are {[*MODELS, DICTIONARY, PRIOR]}")
    if held_out not in SCENES:
        raise ValueError(f"unknown held-out scene {held_out!r}; the scenes are {sorted(SCENES)}")
    if sigma is not None and not 0 < sigma <= 255:
        raise ValueError(f"sigma is a noise level on the 0-255 scale, got {sigma}")
    level = trained_level(name, sigma)
    return WEIGHTS_DIR / (f"{name}_{held_out}_sigma{level}.pt" if level else f"{name}_{held_out}.pt")


def load_model(
    name: str, weights: str | os.PathLike[str] | None = None, sigma: float | None = None, **overrides: Any
) -> nn.Module:
    """The trained model ``name`` in eval mode from ``weights`` or, by default, the shipped file of the default fold
    for the noise level ``sigma`` (see :func:`shipped`); ``overrides`` replace stored config entries (``block=10``,
    ``solver={"max_iter": 50}``)."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    path = Path(weights) if weights is not None else shipped(name, sigma=sigma)
    return core_weights.load_weights(path, kind="model", name=name, how_to_obtain=HOW_TO_OBTAIN, **overrides)


def load_prior(weights: str | os.PathLike[str] | None = None, sigma: float | None = None) -> nn.Module:
    """The pretrained CNN (deq-priors' ``hsi-cnn``) of a weight file (default: the shipped one of the default fold for
    the noise level ``sigma``)."""
    path = Path(weights) if weights is not None else shipped(PRIOR, sigma=sigma)
    return core_weights.load_weights(path, kind="prior", name=PRIOR, how_to_obtain=HOW_TO_OBTAIN)


def load_dictionary_operator(weights: str | os.PathLike[str] | None = None) -> nn.Module:
    """The operator of a K-SVD dictionary file (``.D [d, M]``, ``.provenance``; default: the shipped one of the
    default fold)."""
    path = Path(weights) if weights is not None else shipped(DICTIONARY)
    return core_weights.load_weights(path, kind="operator", name=DICTIONARY, how_to_obtain=HOW_TO_OBTAIN)


def load_dictionary(weights: str | os.PathLike[str] | None = None) -> Tensor:
    """The K-SVD dictionary ``D [d, M]`` of a dictionary file (:func:`load_dictionary_operator`)."""
    return load_dictionary_operator(weights).D.detach().clone()
