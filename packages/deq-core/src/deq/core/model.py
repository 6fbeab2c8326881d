"""The equilibrium-model base: an iteration map ``f(x, *inputs)`` solved to its fixed point by ``DEQ``.

A reconstruction model for ``y = A x`` defines its iteration map (Zhao et al. eq. 14-15 for DE-GAP,
Hu et al. eq. 4-6 for SD-RED / PnP-PGM, Gkillas et al. eq. 14 for DEQ sparse coding, ...) and, when they
differ from the defaults, how the measurement becomes the map's inputs and where the iteration starts.
:class:`EquilibriumModel` then provides

* ``forward(y, A) -> (x*, info)``: the fixed point ``x* = f(x*, *inputs)`` with implicit gradients
  (training), memory independent of the number of iterations;
* ``reconstruct(y, A)``: the same in eval mode without a graph;
* ``iterate(y, A, n)``: ``n`` plain iterations with shared weights *with* a graph — the unrolled network —
  returning every iterate on request, for per-stage / auxiliary losses and deep unrolling;
* ``lipschitz_at(x, y, A)``: the local Lipschitz constant of the map at ``x`` (Zhao et al. Theorem 2).

Every solve runs inside :func:`~deq.core.solve_scope.solve_scope`, so batch norm and spectral normalisation
do not change the map between iterations. The weights of a model are ``model.state_dict()`` (the map's,
prefixed ``map.``, plus whatever parameters a subclass adds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.deq import DEQ
from deq.core.jacobian import jacobian_spectral_norm
from deq.core.modes import eval_mode
from deq.core.operator import LinearOperator
from deq.core.solve_scope import solve_scope
from deq.core.solver_config import SolverConfig
from deq.core.solvers import SolverInfo


def check_measurement_values(y: Tensor, who: str) -> None:
    """Raise a clear error unless ``y`` is a tensor without NaN/Inf (which would give an all-NaN reconstruction)."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{who}: the measurement must be a torch.Tensor, got {type(y).__name__}")
    if not bool(torch.isfinite(y).all()):
        bad = int((~torch.isfinite(y)).sum())
        raise ValueError(
            f"{who}: the measurement holds {bad} NaN/Inf value(s) of {y.numel()}; replace or mask them before reconstructing"
        )


class EquilibriumModel(nn.Module):
    """Base of equilibrium reconstruction models ``x* = f(x*, *inputs(y, A))``.

    Args:
        map: the iteration map ``f(x, *inputs) -> x`` (an ``nn.Module``; its parameters are the model's).
        solver: a :class:`~deq.core.solver_config.SolverConfig`, a dictionary of its fields, or ``None``.

    Subclasses may override :meth:`check_inputs` (validate ``y`` against ``A``), :meth:`initial` (the start
    ``x^(0)``; default ``A^H y``), :meth:`map_inputs` (the map's extra arguments; default ``(y, A)``) and, for maps
    whose state is not the image (e.g. sparse codes), :meth:`readout` (the reconstruction from the state),
    :meth:`initial_from` (the start from the already computed map inputs, so they are not computed twice) and
    :meth:`start` (the state from a caller's ``x0``).
    """

    def __init__(self, map: nn.Module, solver: SolverConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        self.map = map
        self.deq = DEQ(self._apply_map, SolverConfig.coerce(solver))

    @property
    def solver_config(self) -> SolverConfig:
        """The solver settings of this model."""
        return self.deq.config

    def _apply_map(self, x: Tensor, *inputs: Any) -> Tensor:  # a bound method: the map is registered once
        return self.map(x, *inputs)

    # -- what subclasses adapt -------------------------------------------------------------------------
    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        """Raise a clear error for a measurement the model cannot use (:func:`check_measurement_values`: a
        non-tensor, NaN/Inf); subclasses add shape checks."""
        check_measurement_values(y, type(self).__name__)

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """The starting point ``x^(0)``; default ``A^H y``."""
        return operator.adjoint(y)

    def map_inputs(self, y: Tensor, operator: LinearOperator) -> tuple[Any, ...]:
        """The extra arguments of the map, ``f(x, *map_inputs(y, A))``; default ``(y, A)``."""
        return (y, operator)

    def initial_from(self, inputs: tuple[Any, ...], y: Tensor, operator: LinearOperator) -> Tensor:
        """The start as :meth:`forward` and :meth:`iterate` take it, given ``inputs = map_inputs(y, A)``; default
        :meth:`initial` (override when the start derives from the inputs)."""
        return self.initial(y, operator)

    def start(self, x0: Tensor | None, inputs: tuple[Any, ...], y: Tensor, operator: LinearOperator) -> Tensor:
        """The state :meth:`forward` and :meth:`iterate` begin from: :meth:`initial_from` when ``x0`` is ``None``,
        else ``x0`` as given (a state of the map); override when a caller's ``x0`` is not the map's state (e.g. an
        image, where the state also carries an auxiliary variable)."""
        return self.initial_from(inputs, y, operator) if x0 is None else x0

    def readout(self, z: Tensor, inputs: tuple[Any, ...], y: Tensor) -> Tensor:
        """The reconstruction from the map's state ``z`` (``inputs``: :meth:`map_inputs` of ``y``); default ``z``."""
        return z

    # -- the model ------------------------------------------------------------------------------------
    def forward(self, y: Tensor, operator: LinearOperator, x0: Tensor | None = None) -> tuple[Tensor, SolverInfo]:
        """The equilibrium ``x*`` of the map from ``x0`` (default :meth:`initial`) and the solver statistics;
        gradients by the configured implicit backward."""
        self.check_inputs(y, operator)
        inputs = self.map_inputs(y, operator)
        z0 = self.start(x0, inputs, y, operator)
        z, info = self.deq(z0, *inputs)  # DEQ solves inside solve_scope(self)
        return self.readout(z, inputs, y), info

    @torch.no_grad()
    def reconstruct(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """The reconstruction ``x*`` (eval mode, no graph)."""
        with eval_mode(self):
            return self(y, operator)[0]

    def iterate(
        self,
        y: Tensor,
        operator: LinearOperator,
        n_iter: int,
        *,
        x0: Tensor | None = None,
        return_all: bool = False,
        callback: Callable[[int, Tensor], None] | None = None,
    ) -> Tensor | list[Tensor]:
        """``n_iter`` plain iterations ``z_{k+1} = f(z_k)`` from ``x0`` (default :meth:`initial_from`), with a graph
        when gradients are enabled: the unrolled network with shared weights. Returns the last reconstruction
        ``x_n = readout(z_n)``, or with ``return_all`` the list ``[x_1, ..., x_n]`` (for per-stage losses);
        ``callback(k, x_k)`` sees each."""
        if n_iter < 1:
            raise ValueError(f"iterate: n_iter must be >= 1, got {n_iter}")
        self.check_inputs(y, operator)
        inputs = self.map_inputs(y, operator)
        z = self.start(x0, inputs, y, operator)
        iterates = []
        with solve_scope(self.map):
            for k in range(n_iter):
                z = self.map(z, *inputs)
                if return_all or callback is not None or k == n_iter - 1:
                    x = self.readout(z, inputs, y)
                    if callback is not None:
                        callback(k, x)
                    if return_all:
                        iterates.append(x)
        return iterates if return_all else x

    def lipschitz_at(
        self, x: Tensor, y: Tensor, operator: LinearOperator, n_iter: int = 300, eps: float = 0.01, tol: float = 0.0
    ) -> dict[str, Tensor]:
        """Convergence check of Zhao et al. Theorem 2 at ``x`` (normally the fixed point): the local Lipschitz
        constant ``L = ||J_f(x)||_2`` per sample ``[B]`` by ``n_iter`` power steps (a lower bound that rises to
        ``L``; see :func:`~deq.core.jacobian.jacobian_spectral_norm`), and ``eta = (1 + eps) L``, an upper bound on
        ``(1 + eps) max_i |1 - lambda_i|`` over the eigenvalues ``lambda_i`` of ``I - J_f``. Anderson /
        fixed-point iterations are guaranteed to converge locally when ``eta < 1``."""
        with eval_mode(self), solve_scope(self.map):
            lip = jacobian_spectral_norm(self.map, x.detach(), *self.map_inputs(y, operator), n_iter=n_iter, tol=tol)
        return {"lipschitz": lip, "eta": (1 + eps) * lip}
