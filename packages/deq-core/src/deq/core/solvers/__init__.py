"""Batched fixed-point solvers and their registry lookup.

Every solver has the signature ``solver(g, z0, *, tol, max_iter, stop_mode, **options) -> (z, info)``
with ``g: [B, ...] -> [B, ...]``, ``z0 [B, ...]`` and ``info`` a :class:`SolverInfo`. Unknown options are a
``TypeError`` (they are plain keyword arguments). Third-party solvers are added through the ``deq_solvers``
plugin hook and looked up by name with :func:`get_solver`; they can use :class:`Tracker` for the shared
per-sample stopping, best-iterate and divergence bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable

from deq.core.solvers._tracker import SolverDivergenceWarning, SolverInfo, Tracker
from deq.core.solvers.anderson import anderson
from deq.core.solvers.broyden import broyden
from deq.core.solvers.fixed_point import fixed_point

Solver = Callable[..., tuple]


def get_solver(solver: str | Solver) -> Solver:
    """A solver function from its registered name (or the callable itself)."""
    if callable(solver):
        return solver
    from deq.core.registry import get

    return get("solver", solver).obj


__all__ = ["SolverDivergenceWarning", "SolverInfo", "Tracker", "anderson", "broyden", "fixed_point", "get_solver"]
