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
    NaN/Inf) and the start ``x^(0)``.
    ``solver=None`` uses :data:`SCI_SOLVER`; a dictionary of :class:`SolverConfig` fields overrides it.

    The start is ``x^(0)_t = y / sum_t M_t`` (:func:`~deq.models.sci.gap.initial_estimate`), or with
    ``warm_start = n > 0`` the output of ``n`` GAP-TV iterations (:class:`~deq.models.sci.models.GapTV`, its
    default weight): a start nearer the equilibrium, so the solve stops after fewer applications of the map. The
    equilibrium of a contractive map does not depend on the start; a map with a Lipschitz constant near 1
    (the shipped DE-GAP's: 1.007 at its fixed point on Drop, 300 power steps) is left by the stopping rule at a
    point that does (docs/sci.md measures both).
    """

    def __init__(self, map: nn.Module, solver: SolverConfig | dict[str, Any] | None = None, warm_start: int = 0) -> None:
        config = solver if isinstance(solver, SolverConfig) else SCI_SOLVER.replace(**(solver or {}))
        super().__init__(map, config)
        if not isinstance(warm_start, int) or warm_start < 0:
            raise ValueError(f"{type(self).__name__}: warm_start must be an integer >= 0 (GAP-TV iterations), got {warm_start!r}")
        self.warm_start = warm_start

    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        check_gap_operator(operator)
        check_measurement(y, operator)  # includes the base class's check of the values

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        if self.warm_start:
            from deq.models.sci.models import GapTV

            return GapTV(n_iter=self.warm_start).reconstruct(y, operator)
        return initial_estimate(operator, y)


class DEGAP(EquilibriumSCI):
    """DE-GAP (Zhao et al. eq. 14-26): equilibrium of ``f(x) = D_theta(GAP(x))``.

    Args:
        denoiser: a video denoiser ``[B, 1, T, H, W] -> [B, 1, T, H, W]`` (wrap deq-priors image denoisers
            with :class:`deq.models.sci.video.FrameWindow`).
        solver: solver settings (default :data:`SCI_SOLVER`; a dictionary overrides some of its fields).
        warm_start: GAP-TV iterations for the start (0: ``y / sum_t M_t``; see :class:`EquilibriumSCI`).
    """

    def __init__(self, denoiser: nn.Module, solver: SolverConfig | dict[str, Any] | None = None, warm_start: int = 0) -> None:
        super().__init__(GAPDenoiseMap(denoiser), solver, warm_start)

    @property
    def denoiser(self) -> nn.Module:
        return self.map.denoiser
