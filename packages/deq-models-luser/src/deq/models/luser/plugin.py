"""deq-models-luser's plugin: registers LU-DnCNN, DEQ4IP, LUSER-SW and LUSER-DW and the commands
``deq train luser``, ``deq bench luser`` and ``deq reconstruct luser`` through deq's hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_models() -> Mapping[str, Any]:
    from deq.models.luser.models import FACTORIES

    return dict(FACTORIES)


@hookimpl
def deq_train_recipes() -> Mapping[str, Any]:
    from deq.models.luser.train import main

    return {"luser": main}


@hookimpl
def deq_benchs() -> Mapping[str, Any]:
    from deq.models.luser.bench import main

    return {"luser": main}


@hookimpl
def deq_reconstruct_problems() -> Mapping[str, Any]:
    from deq.models.luser.cli import main

    return {"luser": main}
