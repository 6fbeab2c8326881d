"""DE-GAP: the deep equilibrium GAP network of Zhao, Zheng & Yuan (eq. 14-26).

The iteration map fuses the GAP projection (8) with a learned denoiser ``D_theta`` (eq. 14-15):

    f_theta(x; y) = D_theta( x + Phi^T (Phi Phi^T)^{-1} (y - Phi x) ),                      (14-15)

and the reconstruction is its fixed point ``x* = f_theta(x*; y)``, found from ``x^(0)`` by Anderson
acceleration (eq. 16-17) and trained end to end with the implicit-function-theorem gradient
(eq. 18-26) by ``deq.core.deq.DEQ``: no graph is kept through the solver iterations, so training
memory does not depend on the number of iterations. ``unrolled`` runs the same map for a fixed number
of stages with a full graph (the unrolled baseline of the paper's memory and stability comparisons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.deq import DEQ
from deq.core.operator import LinearOperator
from deq.core.solvers import SolverInfo
from deq.models.sci.gap import check_gap_operator, check_measurement, gap_step, initial_estimate


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


@dataclass(frozen=True)
class SolverConfig:
    """Forward/backward settings of the equilibrium solve (Anderson with history ``m``, implicit backward)."""

    solver: str = "anderson"
    backward: str = "ift"
    tol: float = 1e-4
    max_iter: int = 60
    m: int = 5
    beta: float = 1.0
    backward_tol: float = 1e-4
    backward_max_iter: int = 40
    jfb_steps: int = 1


class EquilibriumSCI(nn.Module):
    """Shared machinery of DE-GAP and DE-RNN: a fixed-point map ``f(x, y, Phi)`` solved by ``DEQ``.

    Subclasses set ``self.map``; ``forward(y, operator)`` returns ``(x*, info)`` with implicit gradients.
    """

    map: nn.Module

    def _init_solver(self, config: SolverConfig) -> None:
        self.config = config
        options: dict[str, Any] = {"m": config.m, "beta": config.beta} if config.solver == "anderson" else {}
        self.deq = DEQ(
            self.map,
            solver=config.solver,
            backward=config.backward,
            tol=config.tol,
            max_iter=config.max_iter,
            solver_options=options,
            backward_solver="anderson" if config.backward == "ift" else None,
            backward_tol=config.backward_tol,
            backward_max_iter=config.backward_max_iter,
            backward_solver_options={"m": config.m},
            jfb_steps=config.jfb_steps,
        )

    def forward(self, y: Tensor, operator: LinearOperator, x0: Tensor | None = None) -> tuple[Tensor, SolverInfo]:
        """Equilibrium ``x* = f(x*, y, Phi)`` from ``x0`` (default ``Phi^T (Phi Phi^T)^{-1} y``): ``y [B, 1, H, W]``
        -> ``x* [B, 1, T, H, W]`` and the solver statistics."""
        check_gap_operator(operator)
        check_measurement(y, operator)
        z0 = initial_estimate(operator, y) if x0 is None else x0
        return self.deq(z0, y, operator)

    @torch.no_grad()
    def reconstruct(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """Reconstruction ``[B, 1, T, H, W]`` of snapshots ``y [B, 1, H, W]`` (eval mode, no graph)."""
        was_training = self.training
        self.eval()
        try:
            return self(y, operator)[0]
        finally:
            self.train(was_training)

    def iterate(
        self, y: Tensor, operator: LinearOperator, n_iter: int, callback: Callable[[int, Tensor], None] | None = None
    ) -> Tensor:
        """``n_iter`` plain iterations ``x_{k+1} = f(x_k)`` from ``x^(0)``, with a graph when gradients are
        enabled (the unrolled network with shared weights); ``callback(k, x)`` sees each iterate."""
        check_gap_operator(operator)
        check_measurement(y, operator)
        x = initial_estimate(operator, y)
        for k in range(n_iter):
            x = self.map(x, y, operator)
            if callback is not None:
                callback(k, x)
        return x

    def lipschitz_at(
        self, x: Tensor, y: Tensor, operator: LinearOperator, n_iter: int = 30, eps: float = 0.01
    ) -> dict[str, Tensor]:
        """Convergence check of Theorem 2 at ``x`` (normally the fixed point): the local Lipschitz constant
        ``L = ||J_f(x)||_2`` per sample by power iteration (deq-core), and ``eta = (1 + eps) L``, an upper
        bound on ``(1 + eps) max_i |1 - lambda_i|`` over the eigenvalues ``lambda_i`` of ``I - J_f``.
        Anderson/fixed-point iterations are guaranteed to converge locally when ``eta < 1``."""
        from deq.core.jacobian import jacobian_spectral_norm

        was_training = self.training
        self.eval()
        try:
            lip = jacobian_spectral_norm(self.map, x.detach(), y, operator, n_iter=n_iter)
        finally:
            self.train(was_training)
        return {"lipschitz": lip, "eta": (1 + eps) * lip}


class DEGAP(EquilibriumSCI):
    """DE-GAP (Zhao et al. eq. 14-26): equilibrium of ``f(x) = D_theta(GAP(x))``.

    Args:
        denoiser: a video denoiser ``[B, 1, T, H, W] -> [B, 1, T, H, W]`` (wrap deq-priors image denoisers
            with :class:`deq.models.sci.video.FrameWindow`).
        config: solver settings (:class:`SolverConfig`).
    """

    def __init__(self, denoiser: nn.Module, config: SolverConfig = SolverConfig()) -> None:
        super().__init__()
        self.map = GAPDenoiseMap(denoiser)
        self._init_solver(config)

    @property
    def denoiser(self) -> nn.Module:
        return self.map.denoiser
