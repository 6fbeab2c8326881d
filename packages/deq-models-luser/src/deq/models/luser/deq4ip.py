"""DEQ4IP (Gilton, Ongie, Willett 2021, "Deep equilibrium architectures for inverse problems in imaging";
LUSER sec. 2.2): the proximal-gradient stage of LU-DnCNN iterated to its fixed point,

    x* = f(x*),     f(x) = D( x + lambda A^T (y - A x) ),                          (LUSER eq. 5-6)

with ``D`` the same 17-layer DnCNN (Miyato spectral norm on every convolution, LUSER sec. 4.1), found by
Anderson acceleration and trained with the implicit-function-theorem gradient by deq-core's
:class:`~deq.core.model.EquilibriumModel`: training memory is one application of ``f`` whatever the number of
iterations, but every iteration applies ``A`` and ``A^T`` once (the operator calls LUSER Table 4 counts).

Inside a solve the map is one map (:func:`deq.core.solve_scope.solve_scope`): batch norm runs on its running
statistics and the spectral-normalised weights are computed once. The statistics are therefore learned before
the equilibrium training, as Gilton et al. pre-train the denoiser: the recipe's first stage trains ``f`` alone
(one application, batch norm in training mode) from points between ``x_0`` and the ground truth.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from deq.core.model import EquilibriumModel
from deq.core.operator import LinearOperator
from deq.core.solver_config import SolverConfig
from deq.models.luser.step import DataStep

#: DEQ4IP's solve (Gilton et al.: Anderson, history 5; LUSER sec. 2.2: "usually around 50 iterations")
DEQ4IP_SOLVER = SolverConfig(
    solver="anderson",
    tol=1e-3,
    max_iter=50,
    solver_options={"m": 5},
    backward="ift",
    backward_tol=1e-3,
    backward_max_iter=50,
    backward_solver_options={"m": 5},
)


class ProxGradMap(nn.Module):
    """``f(x, y, A) = D(x + lambda A^T (y - A x))`` on ``x [B, C, H, W]``: one LU stage as a map."""

    def __init__(self, step: DataStep, denoiser: nn.Module) -> None:
        super().__init__()
        self.step, self.denoiser = step, denoiser

    def forward(self, x: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        return self.denoiser(self.step(x, y, operator))


class DEQ4IP(EquilibriumModel):
    """DEQ4IP: the equilibrium of :class:`ProxGradMap` (see the module docstring).

    Args:
        step: the gradient step (learnable ``lambda``; start ``x_0``).
        denoiser: ``D`` (``[B, C, H, W] -> [B, C, H, W]``).
        solver: :class:`SolverConfig` or a dictionary of fields overriding :data:`DEQ4IP_SOLVER`.
    """

    def __init__(self, step: DataStep, denoiser: nn.Module, solver: SolverConfig | dict[str, Any] | None = None) -> None:
        config = solver if isinstance(solver, SolverConfig) else DEQ4IP_SOLVER.replace(**(solver or {}))
        super().__init__(ProxGradMap(step, denoiser), config)

    @property
    def step(self) -> DataStep:
        return self.map.step

    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        self.step.check(y, operator, type(self).__name__)
        super().check_inputs(y, operator)

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        return self.step.initial(y, operator)
