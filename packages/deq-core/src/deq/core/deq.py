"""The ``DEQ`` module: a fixed point ``z* = f(z*, *inputs)`` with gradients by implicit differentiation.

Forward: a registered solver finds ``z*`` under ``torch.no_grad()`` — no graph through the iterations, so
training memory does not grow with the number of iterations. Backward (when gradients are needed):

* ``"ift"`` — implicit function theorem (Zhao et al. eq. 22-26; Hu et al. eq. 9; Gkillas et al. eq. 24-26).
  With ``z_out = f(z*, *inputs)`` recorded once with a graph, the incoming gradient ``g = dL/dz`` is
  replaced by the solution ``a`` of the adjoint fixed point ``a = J_f(z*)^T a + g`` (solved with any
  registered solver to ``backward_tol``), then propagated through that single application of ``f`` to its
  parameters and inputs: ``dL/dtheta = a^T df/dtheta``.
* ``"neumann"`` — the same with ``a`` replaced by the truncated Neumann series ``sum_{k=0}^{K} (J^T)^k g``.
* ``"jfb"`` — Jacobian-free / phantom gradient (Fung et al. 2022; Geng et al. 2021), *approximate*: ``k``
  damped steps ``z <- (1 - tau) z + tau f(z, *inputs)`` from ``z*`` are recorded with a graph and
  differentiated by autograd (``k = 1, tau = 1`` is the plain Jacobian-free gradient).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.solvers import SolverInfo, get_solver

BACKWARDS = ("ift", "neumann", "jfb")


class DEQ(nn.Module):
    """Deep equilibrium layer ``z* = f(z*, *inputs)`` with implicit gradients.

    Args:
        f: the fixed-point map ``f(z, *inputs) -> z`` (an ``nn.Module`` or any callable); ``z`` is ``[B, ...]``.
        solver: forward solver name (registered) or function.
        backward: "ift", "neumann" or "jfb".
        tol, max_iter, stop_mode: forward stopping rule (per sample).
        solver_options: extra keyword options of the forward solver (e.g. ``{"m": 5}``).
        backward_solver: solver for the adjoint fixed point (default: the forward solver).
        backward_tol, backward_max_iter, backward_solver_options: its stopping rule and options.
        neumann_terms: ``K`` of the Neumann series.
        jfb_steps, jfb_damping: ``k`` and ``tau`` of the phantom gradient.

    ``forward(z0, *inputs)`` returns ``(z, info)``: the equilibrium ``[B, ...]`` (with the gradient graph
    attached when gradients are enabled and something requires grad) and the forward
    :class:`~deq.core.solvers.SolverInfo`; after a backward pass, ``self.last_backward_info`` holds the
    adjoint solve's statistics (``ift`` only).
    """

    def __init__(
        self,
        f: Callable[..., Tensor],
        *,
        solver: str | Callable[..., Any] = "anderson",
        backward: str = "ift",
        tol: float = 1e-5,
        max_iter: int = 50,
        stop_mode: str = "rel",
        solver_options: Mapping[str, Any] | None = None,
        backward_solver: str | Callable[..., Any] | None = None,
        backward_tol: float = 1e-6,
        backward_max_iter: int = 100,
        backward_solver_options: Mapping[str, Any] | None = None,
        neumann_terms: int = 10,
        jfb_steps: int = 1,
        jfb_damping: float = 1.0,
    ) -> None:
        super().__init__()
        if backward not in BACKWARDS:
            raise ValueError(f"DEQ: backward must be one of {BACKWARDS}, got {backward!r}")
        if neumann_terms < 0 or jfb_steps < 1 or not 0.0 < jfb_damping <= 1.0:
            raise ValueError(
                f"DEQ: need neumann_terms >= 0, jfb_steps >= 1 and jfb_damping in (0, 1]; got "
                f"{neumann_terms}, {jfb_steps}, {jfb_damping}"
            )
        self.f = f
        self.solver = get_solver(solver)
        self.backward_solver = get_solver(backward_solver if backward_solver is not None else solver)
        self.backward = backward
        self.tol, self.max_iter, self.stop_mode = tol, max_iter, stop_mode
        self.solver_options = dict(solver_options or {})
        self.backward_tol, self.backward_max_iter = backward_tol, backward_max_iter
        self.backward_solver_options = dict(backward_solver_options or {})
        self.neumann_terms, self.jfb_steps, self.jfb_damping = neumann_terms, jfb_steps, jfb_damping
        self.last_backward_info: SolverInfo | None = None

    def solve(self, z0: Tensor, *inputs: Any) -> tuple[Tensor, SolverInfo]:
        """The forward solve only (no graph): ``z* = f(z*, *inputs)`` from ``z0``."""
        with torch.no_grad():
            return self.solver(
                lambda z: self.f(z, *inputs),
                z0.detach(),
                tol=self.tol,
                max_iter=self.max_iter,
                stop_mode=self.stop_mode,
                **self.solver_options,
            )

    def forward(self, z0: Tensor, *inputs: Any) -> tuple[Tensor, SolverInfo]:
        z_star, info = self.solve(z0, *inputs)
        if not torch.is_grad_enabled() or not self._needs_grad(inputs):
            return z_star, info
        if self.backward == "jfb":
            z = z_star
            for _ in range(self.jfb_steps):
                fz = self.f(z, *inputs)
                z = fz if self.jfb_damping == 1.0 else (1 - self.jfb_damping) * z + self.jfb_damping * fz
            return z, info
        z_leaf = z_star.detach().requires_grad_()
        z_out = self.f(z_leaf, *inputs)
        z_out.register_hook(self._make_hook(z_leaf, z_out))
        return z_out, info

    def _needs_grad(self, inputs: tuple[Any, ...]) -> bool:
        owner = self.f if isinstance(self.f, nn.Module) else getattr(self.f, "__self__", None)  # bound method
        params = owner.parameters() if isinstance(owner, nn.Module) else ()
        return any(p.requires_grad for p in params) or any(isinstance(x, Tensor) and x.requires_grad for x in inputs)

    def _make_hook(self, z_leaf: Tensor, z_out: Tensor) -> Callable[[Tensor], Tensor]:
        inside = [False]  # the vjps below run back through z_out and would re-enter this hook

        def vjp(a: Tensor) -> Tensor:
            return torch.autograd.grad(z_out, z_leaf, a, retain_graph=True)[0]

        def hook(grad: Tensor) -> Tensor:
            if inside[0]:
                return grad
            inside[0] = True
            try:
                return adjoint(grad)
            finally:
                inside[0] = False

        def adjoint(grad: Tensor) -> Tensor:
            if self.backward == "neumann":
                total, term = grad, grad
                for _ in range(self.neumann_terms):
                    term = vjp(term)
                    total = total + term
                return total
            a, info = self.backward_solver(
                lambda a: vjp(a) + grad,
                grad,
                tol=self.backward_tol,
                max_iter=self.backward_max_iter,
                stop_mode="rel",
                **self.backward_solver_options,
            )
            self.last_backward_info = info
            return a

        return hook
