"""deq-models-sci's plugin: registers the SCI models, the main demo, the benchmark and the
``deq reconstruct sci`` / ``deq train-sci`` commands through deq's hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_models() -> Mapping[str, Any]:
    from deq.models.sci import models

    return {
        "gap-tv": models.gap_tv,
        "pnp-gap": models.pnp_gap,
        "pnp-admm": models.pnp_admm,
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
def deq_reconstruct_commands(subparsers: Any) -> None:
    from deq.models.sci.cli import add_reconstruct

    add_reconstruct(subparsers)


@hookimpl
def deq_cli_commands(subparsers: Any) -> None:
    from deq.models.sci.cli import add_train

    add_train(subparsers)
