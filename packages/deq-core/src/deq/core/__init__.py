"""deq.core: fixed-point solvers, implicit differentiation, the equilibrium-model base, the LinearOperator
protocol, metrics and the plugin registry of the deq ecosystem."""

from deq.core.deq import DEQ
from deq.core.operator import LinearOperator, adjoint_test
from deq.core.solver_config import SolverConfig
from deq.core.solvers import (
    SolverDivergenceWarning,
    SolverInfo,
    SolverNotConvergedWarning,
    anderson,
    broyden,
    fixed_point,
    get_solver,
    nesterov,
)

__all__ = [
    "DEQ",
    "LinearOperator",
    "SolverConfig",
    "SolverDivergenceWarning",
    "SolverInfo",
    "SolverNotConvergedWarning",
    "adjoint_test",
    "anderson",
    "broyden",
    "fixed_point",
    "get_solver",
    "nesterov",
]
