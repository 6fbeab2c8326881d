"""The weights this package ships and how its equilibrium models are rebuilt from a weight file.

Weight files use deq-core's one format (:mod:`deq.core.weights`): kind ``"model"``, the registered name
(``"de-gap"`` or ``"de-rnn"``), the factory keywords that rebuild the network (for DE-GAP the deq-priors
denoiser name and options and the temporal radius of :class:`~deq.models.sci.video.FrameWindow`, for DE-RNN
the :class:`~deq.models.sci.dernn.BiRNN` options; the solver settings for both), the model's state dict
and the provenance.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from deq.core import weights as core_weights
from deq.models.sci.video import as_video_denoiser

MODELS = ("de-gap", "de-rnn")
WEIGHTS_DIR = Path(__file__).parent / "weights"
#: the shipped weights per model (CPU-trained; see each JSON)
SHIPPED = {"de-gap": WEIGHTS_DIR / "degap_cnn.pt", "de-rnn": WEIGHTS_DIR / "dernn.pt"}
#: DE-GAP trained in the accelerated GAP state (the file stores ``accelerate`` and ACCEL_DEGAP's start and solver)
ACCEL_WEIGHTS = WEIGHTS_DIR / "degap_cnn_accel.pt"
#: DE-GAP with deq-priors' own ffdnet-gray (frame by frame, fixed sigma 15/255) trained in the accelerated GAP state
ACCEL_FFDNET_WEIGHTS = WEIGHTS_DIR / "degap_ffdnet_accel.pt"
#: the DE-GAP network after training stage 1 only (not as an equilibrium), for the stability comparison
STAGE1_WEIGHTS = WEIGHTS_DIR / "degap_cnn_stage1.pt"
HOW_TO_OBTAIN = (
    "deq-models-sci ships it as package data; reinstall the package, or train one with "
    "`deq train sci --out RUN` and pass weights=RUN/weights.pt."
)

#: the shipped network (DE-GAP-CNN): deq-priors' residual "cnn", 6 convolutions of 32 channels, on 3-frame windows
DEFAULT_DENOISER = "cnn"
DEFAULT_DENOISER_OPTIONS = {"depth": 6, "width": 32, "residual": True, "bias": True}
DEFAULT_RADIUS = 1


def build_denoiser(name: str, options: dict[str, Any], radius: int, sigma: float | None = None) -> nn.Module:
    """A video denoiser: deq-priors' image denoiser ``name`` (``in_channels = 2 radius + 1``) in a
    :class:`FrameWindow` (``sigma``: the fixed noise level a noise-conditioned denoiser such as FFDNet gets inside
    the equilibrium map), or a video denoiser as it is."""
    from deq.core.registry import create

    opts = dict(options)
    opts.setdefault("in_channels", 2 * radius + 1)
    return as_video_denoiser(create("prior", name, **opts), radius=radius, sigma=sigma)


def load_weights(
    weights: str | os.PathLike[str] | None = None,
    *,
    model: str = "de-gap",
    settings: dict[str, Any] | None = None,
    **solver: Any,
) -> nn.Module:
    """A trained DE-GAP or DE-RNN in eval mode from ``weights`` or, by default, the file this package ships for
    ``model``; the file must hold that model. ``solver`` keywords override stored
    :class:`~deq.core.solver_config.SolverConfig` fields (e.g. ``max_iter=100``), ``settings`` the other factory
    keywords of inference (``warm_start``: GAP-TV iterations of the start, ``accelerate``). A missing or corrupted
    file is a :class:`~deq.core.errors.WeightsError` naming it and how to obtain it."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    path = Path(weights) if weights is not None else SHIPPED[model]
    overrides: dict[str, Any] = {"solver": solver} if solver else {}
    overrides.update(settings or {})
    return core_weights.load_weights(path, kind="model", name=model, how_to_obtain=HOW_TO_OBTAIN, **overrides)
