"""deq-core's own plugin: registers the built-in solvers and the core demo through the same hooks any
third-party plugin uses (the comparison with TorchDEQ is ``benchmarks/core.py`` in the repository)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_solvers() -> Mapping[str, Any]:
    from deq.core.solvers import BUILTIN

    return dict(BUILTIN)


@hookimpl
def deq_demos() -> Mapping[str, Any]:
    from deq.core.demo import run

    return {"core": run}
