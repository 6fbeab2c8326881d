"""DE-GAP: the deep equilibrium GAP network of Zhao, Zheng & Yuan (eq. 14-26), and its accelerated-GAP variant.

The iteration map fuses the GAP projection (8) with a learned denoiser ``D_theta`` (eq. 14-15):

    f_theta(x; y) = D_theta( x + Phi^T (Phi Phi^T)^{-1} (y - Phi x) ),                      (14-15)

and the reconstruction is its fixed point ``x* = f_theta(x*; y)``, found from ``x^(0)`` by Anderson
acceleration (eq. 16-17) and trained end to end with the implicit-function-theorem gradient
(eq. 18-26) by deq-core's :class:`~deq.core.model.EquilibriumModel`: no graph is kept through the solver
iterations, so training memory does not depend on the number of iterations. ``iterate`` runs the same map
for a fixed number of stages with a full graph (the unrolled baseline of the paper's memory and stability
comparisons).

``accelerate=True`` (DE-GAP and DE-RNN) solves for the fixed point of the accelerated GAP (8') instead
(:class:`GAPMap`): the map's state carries the accumulated measurement, so every fixed point fits the data exactly.
Not the paper's maps; docs/sci.md ("The accelerated GAP state") says why and what it measures.
"""

from __future__ import annotations

from typing import Any

import torch
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


def pack_state(x: Tensor, w: Tensor) -> Tensor:
    """The state of an accelerated :class:`GAPMap`: the video ``x [B, C, T, H, W]`` with the accumulated measurement
    ``w [B, C, H, W]`` appended as frame ``T``: ``[B, C, T + 1, H, W]``."""
    return torch.cat([x, w.unsqueeze(-3)], dim=-3)


def unpack_state(z: Tensor) -> tuple[Tensor, Tensor]:
    """``(x [B, C, T, H, W], w [B, C, H, W])`` from a state of :func:`pack_state`."""
    return z[..., :-1, :, :], z[..., -1, :, :]


class GAPMap(nn.Module):
    """An SCI iteration map ``f(x, y, Phi) = N(GAP(x))``: the GAP projection (8), then the network :meth:`net` on
    videos ``[B, 1, T, H, W]`` (DE-GAP (14-15), DE-RNN (12-13)).

    With ``accelerate`` it is the accelerated GAP (8') and the network (9) as one map on the state ``z = (x, w)``
    (:func:`pack_state`, ``[B, 1, T + 1, H, W]``), ``w`` the accumulated measurement of (8'):

        w' = w + (y - Phi x),    x' = N( x + Phi^T (Phi Phi^T)^{-1} (w' - Phi x) ).                    (8'), (9)

    A fixed point then has ``Phi x* = y`` exactly (first line), where the plain map leaves the residual
    ``y - Phi x* = Phi (v* - N(v*))``. The ``w -> w'`` block of the Jacobian is the identity, so the map's Lipschitz
    constant is at least 1: Theorem 2 does not apply, and its solves converge more slowly.
    """

    def __init__(self, accelerate: bool = False) -> None:
        super().__init__()
        self.accelerate = accelerate

    def net(self, v: Tensor) -> Tensor:
        """The network applied to the projected video ``v [B, 1, T, H, W]``."""
        raise NotImplementedError

    def forward(self, z: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        if not self.accelerate:
            return self.net(gap_step(operator, z, y)[0])
        x, w = unpack_state(z)
        v, w = gap_step(operator, x, y, w)
        return pack_state(self.net(v), w)


class GAPDenoiseMap(GAPMap):
    """The DE-GAP iteration map (14-15): ``f(x, y, Phi) = D(GAP(x))`` on videos ``[B, 1, T, H, W]`` (with
    ``accelerate``, on the accelerated state of :class:`GAPMap`).

    ``denoiser`` is a video denoiser ``D(v) -> x`` (see :mod:`deq.models.sci.video`).
    """

    def __init__(self, denoiser: nn.Module, accelerate: bool = False) -> None:
        super().__init__(accelerate)
        self.denoiser = denoiser

    def net(self, v: Tensor) -> Tensor:
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

    def __init__(self, map: GAPMap, solver: SolverConfig | dict[str, Any] | None = None, warm_start: int = 0) -> None:
        config = solver if isinstance(solver, SolverConfig) else SCI_SOLVER.replace(**(solver or {}))
        super().__init__(map, config)
        if not isinstance(warm_start, int) or warm_start < 0:
            raise ValueError(f"{type(self).__name__}: warm_start must be an integer >= 0 (GAP-TV iterations), got {warm_start!r}")
        self.warm_start = warm_start

    @property
    def accelerate(self) -> bool:
        """Whether the map is the accelerated GAP state (:class:`GAPMap`); inputs, ``x0`` and outputs are videos
        either way."""
        return self.map.accelerate

    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        check_gap_operator(operator)
        check_measurement(y, operator)  # includes the base class's check of the values

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        if self.warm_start:
            from deq.models.sci.models import GapTV

            return GapTV(n_iter=self.warm_start).reconstruct(y, operator)
        return initial_estimate(operator, y)

    def start(self, x0: Tensor | None, inputs: tuple[Any, ...], y: Tensor, operator: LinearOperator) -> Tensor:
        """The video ``x0 [B, 1, T, H, W]`` (default :meth:`initial`), packed with the accumulator ``y`` for the
        accelerated state (:func:`pack_state`): ``forward`` and ``iterate`` take and return videos either way."""
        x0 = self.initial(y, operator) if x0 is None else x0
        return pack_state(x0, y) if self.accelerate else x0

    def readout(self, z: Tensor, inputs: tuple[Any, ...], y: Tensor) -> Tensor:
        return unpack_state(z)[0] if self.accelerate else z

    def lipschitz_at(self, x: Tensor, y: Tensor, operator: LinearOperator, **options: Any) -> dict[str, Tensor]:
        """Theorem 2's check at ``x`` (see :class:`~deq.core.model.EquilibriumModel`); not defined for the accelerated
        state, whose map has an identity block (:class:`GAPMap`)."""
        if self.accelerate:
            raise ValueError(
                "lipschitz_at: the accelerated map carries the accumulated measurement with an identity Jacobian "
                "block, so its Lipschitz constant is at least 1 and Theorem 2 does not apply; use accelerate=False"
            )
        return super().lipschitz_at(x, y, operator, **options)


class DEGAP(EquilibriumSCI):
    """DE-GAP (Zhao et al. eq. 14-26): equilibrium of ``f(x) = D_theta(GAP(x))``.

    Args:
        denoiser: a video denoiser ``[B, 1, T, H, W] -> [B, 1, T, H, W]`` (wrap deq-priors image denoisers
            with :class:`deq.models.sci.video.FrameWindow`).
        solver: solver settings (default :data:`SCI_SOLVER`; a dictionary overrides some of its fields).
        warm_start: GAP-TV iterations for the start (0: ``y / sum_t M_t``; see :class:`EquilibriumSCI`).
        accelerate: the fixed point of the accelerated GAP state (:class:`GAPMap`) instead of (14-15).
    """

    def __init__(
        self,
        denoiser: nn.Module,
        solver: SolverConfig | dict[str, Any] | None = None,
        warm_start: int = 0,
        accelerate: bool = False,
    ) -> None:
        super().__init__(GAPDenoiseMap(denoiser, accelerate), solver, warm_start)

    @property
    def denoiser(self) -> nn.Module:
        return self.map.denoiser
