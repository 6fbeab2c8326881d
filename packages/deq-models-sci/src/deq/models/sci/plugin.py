"""deq-models-sci's plugin: registers the SCI models and the commands ``deq demo sci``, ``deq bench sci``,
``deq train sci`` and ``deq reconstruct sci`` through deq's hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_models() -> Mapping[str, Any]:
    from deq.models.sci import models

    return {
        "gap-tv": models.GapTV,
        "pnp-gap": models.PnPGAP,
        "pnp-admm": models.PnPADMM,
        "de-gap": models.de_gap,
        "de-rnn": models.de_rnn,
    }


@hookimpl
def deq_demos() -> Mapping[str, Any]:
    from deq.models.sci.demo import main

    return {"sci": main}


@hookimpl
def deq_benchs() -> Mapping[str, Any]:
    from deq.models.sci.bench import main

    return {"sci": main}


@hookimpl
def deq_train_recipes() -> Mapping[str, Any]:
    from deq.models.sci.train import main

    return {"sci": main}


@hookimpl
def deq_reconstruct_problems() -> Mapping[str, Any]:
    from deq.models.sci.cli import main

    return {"sci": main}
