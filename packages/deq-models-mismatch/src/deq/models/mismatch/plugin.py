"""deq-models-mismatch's plugin: registers the models ``sd-red`` and ``pnp-pgm`` and the commands
``deq train mismatch``, ``deq bench mismatch`` and ``deq reconstruct mismatch`` through deq's hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_models() -> Mapping[str, Any]:
    from deq.models.mismatch import models

    return {"sd-red": models.sd_red, "pnp-pgm": models.pnp_pgm}


@hookimpl
def deq_train_recipes() -> Mapping[str, Any]:
    from deq.models.mismatch.train import main

    return {"mismatch": main}


@hookimpl
def deq_benchs() -> Mapping[str, Any]:
    from deq.models.mismatch.bench import main

    return {"mismatch": main}


@hookimpl
def deq_reconstruct_problems() -> Mapping[str, Any]:
    from deq.models.mismatch.cli import main

    return {"mismatch": main}
