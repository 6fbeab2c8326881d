"""deq.core: fixed-point solvers, implicit differentiation, the LinearOperator protocol, metrics and the
plugin registry of the deq ecosystem."""

from deq.core.operator import LinearOperator, adjoint_test
from deq.core.solvers import SolverDivergenceWarning, SolverInfo, anderson, broyden, fixed_point, get_solver

__all__ = [
    "LinearOperator",
    "SolverDivergenceWarning",
    "SolverInfo",
    "adjoint_test",
    "anderson",
    "broyden",
    "fixed_point",
    "get_solver",
]
