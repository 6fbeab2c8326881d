"""DE-GAP: the deep equilibrium GAP network of Zhao, Zheng & Yuan (eq. 14-26).

The iteration map fuses the GAP projection (8) with a learned denoiser ``D_theta`` (eq. 14-15):

    f_theta(x; y) = D_theta( x + Phi^T (Phi Phi^T)^{-1} (y - Phi x) ),                      (14-15)

and the reconstruction is its fixed point ``x* = f_theta(x*; y)``, found from ``x^(0)`` by Anderson
acceleration (eq. 16-17) and trained end to end with the implicit-function-theorem gradient
(eq. 18-26) by deq-core's :class:`~deq.core.model.EquilibriumModel`: no graph is kept through the solver
iterations, so training memory does not depend on the number of iterations. ``iterate`` runs the same map
for a fixed number of stages with a full graph (the unrolled baseline of the paper's memory and stability
comparisons).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from deq.core.model import EquilibriumModel
from deq.core.operator import LinearOperator
from deq.core.solver_config import SolverConfig
from deq.models.sci.gap import check_gap_operator, check_measurement, gap_step, initial_estimate

#: the solver settings of DE-GAP and DE-RNN: Anderson with history 5 forward and backward (eq. 16-17, 26)
SCI_SOLVER = SolverConfig(
    solver="anderson",
    tol=1e-4,
    max_iter=60,
    solver_options={"m": 5},
    backward="ift",
    backward_solver="anderson",
    backward_tol=1e-4,
    backward_max_iter=40,
    backward_solver_options={"m": 5},
)


class GAPDenoiseMap(nn.Module):
    """The DE-GAP iteration map (14-15): ``f(x, y, Phi) = D(GAP(x))`` on videos ``[B, 1, T, H, W]``.

    ``denoiser`` is a video denoiser ``D(v) -> x`` (see :mod:`deq.models.sci.video`).
    """

    def __init__(self, denoiser: nn.Module) -> None:
        super().__init__()
        self.denoiser = denoiser

    def forward(self, x: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        v, _ = gap_step(operator, x, y)
        return self.denoiser(v)


class EquilibriumSCI(EquilibriumModel):
    """What DE-GAP and DE-RNN share on deq-core's :class:`~deq.core.model.EquilibriumModel`: the SCI input
    checks (a CACTI-like operator with a GAP projection, a snapshot ``y [B, 1, H, W]`` matching its mask, no
    NaN/Inf) and the start ``x^(0)_t = y / sum_t M_t`` (:func:`~deq.models.sci.gap.initial_estimate`).
    ``solver=None`` uses :data:`SCI_SOLVER`; a dictionary of :class:`SolverConfig` fields overrides it."""

    def __init__(self, map: nn.Module, solver: SolverConfig | dict[str, Any] | None = None) -> None:
        config = solver if isinstance(solver, SolverConfig) else SCI_SOLVER.replace(**(solver or {}))
        super().__init__(map, config)

    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        check_gap_operator(operator)
        check_measurement(y, operator)  # includes the base class's check of the values

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        return initial_estimate(operator, y)


class DEGAP(EquilibriumSCI):
    """DE-GAP (Zhao et al. eq. 14-26): equilibrium of ``f(x) = D_theta(GAP(x))``.

    Args:
        denoiser: a video denoiser ``[B, 1, T, H, W] -> [B, 1, T, H, W]`` (wrap deq-priors image denoisers
            with :class:`deq.models.sci.video.FrameWindow`).
        solver: solver settings (default :data:`SCI_SOLVER`; a dictionary overrides some of its fields).
    """

    def __init__(self, denoiser: nn.Module, solver: SolverConfig | dict[str, Any] | None = None) -> None:
        super().__init__(GAPDenoiseMap(denoiser), solver)

    @property
    def denoiser(self) -> nn.Module:
        return self.map.denoiser
