"""Batched fixed-point solvers and their registry lookup.

Every solver has the signature ``solver(g, z0, *, tol, max_iter, stop_mode, **options) -> (z, info)``
with ``g: [B, ...] -> [B, ...]``, ``z0 [B, ...]`` and ``info`` a :class:`SolverInfo`. Unknown options are a
``TypeError`` (they are plain keyword arguments). Third-party solvers are added through the ``deq_solvers``
plugin hook and looked up by name with :func:`get_solver`; they can use :class:`Tracker` for the shared
per-sample stopping, best-iterate and divergence bookkeeping.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from deq.core.solvers._tracker import SolverDivergenceWarning, SolverInfo, SolverNotConvergedWarning, Tracker
from deq.core.solvers.anderson import anderson
from deq.core.solvers.broyden import broyden
from deq.core.solvers.fixed_point import fixed_point
from deq.core.solvers.nesterov import nesterov

Solver = Callable[..., tuple]


#: deq-core's own solvers (also registered through its plugin); resolved without loading the plugin registry,
#: so module-level solver configurations cannot start a plugin import cycle
BUILTIN = {"anderson": anderson, "broyden": broyden, "fixed_point": fixed_point, "nesterov": nesterov}


def get_solver(solver: str | Solver) -> Solver:
    """A solver function from its registered name (or the callable itself)."""
    if callable(solver):
        return solver
    if solver in BUILTIN:
        return BUILTIN[solver]
    from deq.core.registry import get

    return get("solver", solver).obj


#: the arguments every solver takes; everything else is a solver-specific option
COMMON_ARGUMENTS = ("g", "z0", "tol", "max_iter", "stop_mode")


def solver_options(solver: str | Solver, options: Mapping[str, Any], what: str = "solver options") -> dict[str, Any]:
    """``options`` checked against the solver's signature: an option the solver does not take is a
    ``TypeError`` naming the solver and the options it accepts (never silently dropped).

    A solver that takes ``**kwargs`` accepts anything; the common arguments (``tol``, ``max_iter``,
    ``stop_mode``) are set by the caller, not through ``options``. ``what`` names the options in messages.
    """
    fn = get_solver(solver)
    name = solver if isinstance(solver, str) else getattr(fn, "__name__", repr(fn))
    params = inspect.signature(fn).parameters
    clash = sorted(set(options) & set(COMMON_ARGUMENTS))
    if clash:
        raise TypeError(f"{what}: {clash} are set by their own settings (tol, max_iter, stop_mode), not as options")
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    accepted = sorted(
        n for n, p in params.items() if n not in COMMON_ARGUMENTS and p.kind is not inspect.Parameter.VAR_POSITIONAL
    )
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(f"{what}: solver {name!r} takes no option(s) {unknown}; it accepts {accepted}")
    return dict(options)


__all__ = [
    "SolverDivergenceWarning",
    "SolverInfo",
    "SolverNotConvergedWarning",
    "Tracker",
    "anderson",
    "broyden",
    "fixed_point",
    "get_solver",
    "nesterov",
    "solver_options",
]
