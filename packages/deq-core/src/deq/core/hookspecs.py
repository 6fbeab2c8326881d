"""Hook specifications of the ``deq`` plugin system.

Every distribution (deq's own and third parties') contributes components through these hooks. A plugin
is a module named by an entry point in the group ``deq``; it decorates functions with :data:`hookimpl`::

    # my_plugin.py, registered as  [project.entry-points.deq] my_plugin = "my_plugin"
    from deq.core.hookspecs import hookimpl

    @hookimpl
    def deq_operators():
        return {"my-operator": MyOperator}

Each ``deq_<kind>`` hook returns a mapping ``name -> object``; the object is a class or factory
(operators, priors, models), a solver function with the solver signature (solvers), or a callable
``fn(argv: list[str]) -> int`` (demos, benchmarks).  Names are global per kind: two distributions that
provide the same name is an error naming both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

PROJECT = "deq"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: the component kinds and the hook that provides each
HOOKS = {
    "operator": "deq_operators",
    "prior": "deq_priors",
    "solver": "deq_solvers",
    "model": "deq_models",
    "demo": "deq_demos",
    "bench": "deq_benchs",
    "train": "deq_train_recipes",
    "reconstruct": "deq_reconstruct_problems",
}
KINDS = tuple(HOOKS)
#: the kinds whose components are commands ``fn(argv) -> int``, run as ``deq KIND NAME ARGS...``
COMMAND_KINDS = ("demo", "bench", "train", "reconstruct")


@hookspec
def deq_operators() -> Mapping[str, Any]:
    """Forward models: ``name -> LinearOperator subclass or factory``."""


@hookspec
def deq_priors() -> Mapping[str, Any]:
    """Priors / denoisers: ``name -> nn.Module subclass or factory`` with ``D(x, sigma=None)``."""


@hookspec
def deq_solvers() -> Mapping[str, Any]:
    """Fixed-point solvers: ``name -> fn(g, z0, *, tol, max_iter, stop_mode, **options) -> (z, SolverInfo)``."""


@hookspec
def deq_models() -> Mapping[str, Any]:
    """Reconstruction models: ``name -> nn.Module subclass or factory`` exposing ``reconstruct(y, operator)`` and
    taking the common keywords ``pretrained: bool`` and ``weights: str | None`` besides its own options."""


@hookspec
def deq_demos() -> Mapping[str, Any]:
    """Demos run by ``deq demo NAME``: ``name -> fn(argv: list[str]) -> int``."""


@hookspec
def deq_benchs() -> Mapping[str, Any]:
    """Experiments on deq's own models (paper reproductions) run by ``deq bench NAME``:
    ``name -> fn(argv: list[str]) -> int``. Comparisons with peer libraries live in the repository's
    ``benchmarks/`` folder, not here."""


@hookspec
def deq_train_recipes() -> Mapping[str, Any]:
    """Training recipes run by ``deq train NAME``: ``name -> fn(argv: list[str]) -> int``."""


@hookspec
def deq_reconstruct_problems() -> Mapping[str, Any]:
    """Reconstruction of users' own measurements, run by ``deq reconstruct NAME``:
    ``name -> fn(argv: list[str]) -> int``."""


@hookspec
def deq_cli_commands(subparsers: Any) -> None:
    """Add arbitrary sub-commands to the ``deq`` CLI (``argparse`` sub-parsers; set ``func`` as a default).

    Each plugin's commands are added in isolation: a plugin whose command name is taken, or whose hook
    raises, is reported (``deq list``) and its commands are skipped. The hook may be called more than once
    (a dry run on a scratch parser first), so it must only add parsers."""
