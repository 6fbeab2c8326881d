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
  relaxed steps ``z <- (1 - beta) z + beta f(z, *inputs)`` from ``z*`` are recorded with a graph and
  differentiated by autograd (``k = 1, beta = 1`` is the plain Jacobian-free gradient).

With ``recompute=True`` (``"ift"`` / ``"neumann"``) the application ``f(z*, *inputs)`` keeps no activations:
it runs under :func:`torch.utils.checkpoint.checkpoint` and is evaluated again in the backward pass — once for
the adjoint solve (a local graph, freed when the solve ends) and once to propagate ``a`` to the parameters and
inputs. The map is evaluated again exactly as in the forward pass: the module's buffers (batch-norm
statistics, spectral-norm vectors) changed since are put back to their values at the forward pass, and the
module runs in eval mode with its parametrized weights (Miyato spectral norm) computed once outside the
recomputation, so no power-iteration step or statistics update happens in between; the gradients equal the
stored ones (tested, also for a map solved twice in one forward pass, as LUSER-SW's shared block). Maps with
dropout in training mode, or with layers keeping their own solve-scope cache (deq-priors' real spectral
norm), cannot be evaluated again identically and are refused.

The backward is attached whenever gradients are enabled and ``f(z*, *inputs)`` depends on any tensor that
requires a gradient other than ``z`` itself — parameters of a module, inputs, or tensors a plain function or
lambda closes over — so ``f`` need not be an ``nn.Module``. When ``f`` is a module (or a method of one), the
solve and that last application run inside :func:`~deq.core.solve_scope.solve_scope` of the module, so batch
norm and spectral normalisation do not change the map between iterations.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.utils.checkpoint import checkpoint

from deq.core.solve_scope import solve_scope
from deq.core.solver_config import SolverConfig
from deq.core.solvers import SolverInfo, SolverNotConvergedWarning, get_solver


class DEQ(nn.Module):
    """Deep equilibrium layer ``z* = f(z*, *inputs)`` with implicit gradients.

    Args:
        f: the fixed-point map ``f(z, *inputs) -> z`` (an ``nn.Module`` or any callable); ``z`` is ``[B, ...]``.
        config: a :class:`~deq.core.solver_config.SolverConfig` (or a dictionary of its fields).
        **settings: :class:`SolverConfig` fields overriding ``config`` (``solver="broyden"``, ``tol=1e-6``, ...);
            an unknown setting or a solver option the solver does not take is a ``TypeError``.

    ``forward(z0, *inputs)`` returns ``(z, info)``: the equilibrium ``[B, ...]`` (with the gradient graph
    attached when needed) and the forward :class:`~deq.core.solvers.SolverInfo`. With the ``"ift"`` backward,
    ``info.backward`` holds the adjoint solve's statistics once the backward pass has run. In evaluation mode
    the forward solve runs up to ``config.eval_max_iter`` iterations.
    """

    def __init__(self, f: Callable[..., Tensor], config: SolverConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        super().__init__()
        self.f = f
        self.config = SolverConfig.coerce(config, **settings)
        self.solver = get_solver(self.config.solver)
        backward_solver = self.config.backward_solver
        self.backward_solver = get_solver(backward_solver if backward_solver is not None else self.config.solver)

    def solve(self, z0: Tensor, *inputs: Any) -> tuple[Tensor, SolverInfo]:
        """The forward solve only (no graph): ``z* = f(z*, *inputs)`` from ``z0``."""
        c = self.config

        def f(z: Tensor) -> Tensor:  # f's output in z's dtype (under forward_autocast, f itself in low precision)
            with c.autocast(z.device):
                return self.f(z, *inputs).to(z.dtype)

        with torch.no_grad():
            z, info = self.solver(
                f,
                z0.detach(),
                tol=c.tol,
                max_iter=c.iterations(self.training),
                stop_mode=c.stop_mode,
                **c.solver_options,
            )
        self._warn_unconverged("forward", info, c.iterations(self.training))
        return z, info

    def _owner(self) -> nn.Module | None:
        """The module of ``f`` (``f`` itself or the module of a bound method), or ``None`` for a plain function."""
        owner = self.f if isinstance(self.f, nn.Module) else getattr(self.f, "__self__", None)
        return owner if isinstance(owner, nn.Module) else None

    def _scope(self) -> contextlib.AbstractContextManager:
        owner = self._owner()
        return solve_scope(owner) if owner is not None else contextlib.nullcontext()

    def forward(self, z0: Tensor, *inputs: Any) -> tuple[Tensor, SolverInfo]:
        with self._scope():
            return self._forward(z0, *inputs)

    def _forward(self, z0: Tensor, *inputs: Any) -> tuple[Tensor, SolverInfo]:
        z_star, info = self.solve(z0, *inputs)
        if not torch.is_grad_enabled():
            return z_star, info
        c = self.config
        if c.backward == "jfb":
            z = z_star
            for _ in range(c.jfb_steps):
                fz = self.f(z, *inputs)
                z = fz if c.jfb_beta == 1.0 else (1 - c.jfb_beta) * z + c.jfb_beta * fz
            return z, info
        z_leaf = z_star.detach().requires_grad_()
        if c.recompute:
            replay = _Replay(self._owner())
            z_out = checkpoint(self.f, z_leaf, *inputs, use_reentrant=False, context_fn=replay.contexts)
        else:
            replay, z_out = None, self.f(z_leaf, *inputs)
        if not _depends_on_other_leaves(z_out, z_leaf):
            return z_star, info
        return _Implicit.apply(z_out, self._make_adjoint(z_leaf, z_out, info, inputs, replay)), info

    def _warn_unconverged(self, which: str, info: SolverInfo, max_iter: int) -> None:
        if not self.config.warn_unconverged or not bool(info.unconverged.any()):
            return
        idx = torch.nonzero(info.unconverged).flatten().tolist()
        worst = float(info.residual[info.unconverged].max())
        warnings.warn(
            f"DEQ {which} solve: {len(idx)} of {info.nstep.numel()} samples stopped at max_iter {max_iter} above tol "
            f"{info.tol:g} (indices {idx}, worst {info.stop_mode} residual {worst:.2e}) without diverging; raise the "
            f"iteration limit, or silence this with warn_unconverged=False",
            SolverNotConvergedWarning,
            stacklevel=3,
        )

    def _make_adjoint(
        self, z_leaf: Tensor, z_out: Tensor, info: SolverInfo, inputs: tuple[Any, ...], replay: _Replay | None
    ) -> Callable[[Tensor], Tensor]:
        """``g -> a``: the gradient ``g`` reaching ``z_out = f(z*, *inputs)`` replaced by the adjoint ``a`` (IFT) or
        the Neumann sum, which autograd then propagates through ``z_out``'s graph to the parameters and inputs."""
        c = self.config

        def adjoint(grad: Tensor) -> Tensor:
            if replay is None:
                z_in, out = z_leaf, z_out
            else:  # a local graph of f(z*) for the adjoint solve only, freed when this function returns
                with torch.enable_grad(), replay.again():
                    z_in = z_leaf.detach().requires_grad_()
                    out = self.f(z_in, *inputs)

            def vjp(a: Tensor) -> Tensor:
                return torch.autograd.grad(out, z_in, a, retain_graph=True)[0]

            if c.backward == "neumann":
                total, term = grad, grad
                for _ in range(c.neumann_terms):
                    term = vjp(term)
                    total = total + term
                return total
            a, info.backward = self.backward_solver(
                lambda a: vjp(a) + grad,
                grad,
                tol=c.backward_tol,
                max_iter=c.backward_max_iter,
                stop_mode="rel",
                **c.backward_solver_options,
            )
            self._warn_unconverged("IFT backward", info.backward, c.backward_max_iter)
            return a

        return adjoint


class _Implicit(torch.autograd.Function):
    """The identity on ``z_out = f(z*, *inputs)`` whose backward replaces the incoming gradient by ``adjoint(g)``.

    A node of its own, downstream of ``z_out``, rather than a hook on ``z_out``: a hook closing over the tensor
    it is registered on (the adjoint needs ``z_out``'s graph) is a reference cycle through autograd's C++ graph
    that Python's collector cannot free, so every training step leaked its equilibrium, its graph and its
    ``SolverInfo``. This node is freed with the graph."""

    @staticmethod
    def forward(ctx: Any, z_out: Tensor, adjoint: Callable[[Tensor], Tensor]) -> Tensor:
        ctx.adjoint = adjoint
        return z_out.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return ctx.adjoint(grad), None


class _Replay:
    """Evaluating a module's map again in the backward pass as it was evaluated in the forward pass (see the
    module docstring): the buffers' values at construction are restored and the module runs in eval mode."""

    def __init__(self, module: nn.Module | None) -> None:
        self.module = module
        if module is None:
            self.buffers: dict[str, Tensor] = {}
            return
        dropout = [n for n, m in module.named_modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p]
        if dropout:
            raise ValueError(
                f"DEQ recompute=True: the map has dropout in training mode ({dropout}), which cannot be evaluated again "
                "identically in the backward pass; use recompute=False or put the dropout layers in eval mode"
            )
        scoped = [n for n, m in module.named_modules() if m is not module and callable(getattr(m, "solve_scope", None))]
        if scoped:
            raise ValueError(
                f"DEQ recompute=True: layers {scoped} keep their own solve-scope cache (e.g. deq-priors' real spectral "
                "norm), which is not evaluated again identically; use recompute=False, or torch parametrizations "
                "(Miyato spectral norm), which are"
            )
        self.buffers = {name: b.detach().clone() for name, b in module.named_buffers()}

    def contexts(self) -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
        """``context_fn`` of :func:`torch.utils.checkpoint.checkpoint`: nothing in the forward, :meth:`again` after."""
        return contextlib.nullcontext(), self.again()

    @contextlib.contextmanager
    def again(self) -> Iterator[None]:
        module = self.module
        if module is None:
            yield
            return
        current = dict(module.named_buffers())
        # only buffers changed since the forward pass are written (a write would invalidate tensors saved for backward)
        changed = [(current[n], v) for n, v in self.buffers.items() if n in current and not torch.equal(current[n], v)]
        saved = [(buffer, buffer.detach().clone()) for buffer, _ in changed]
        modes = [(m, m.training) for m in module.modules()]
        try:
            with torch.no_grad():
                for buffer, value in changed:
                    buffer.copy_(value)
            module.eval()
            with parametrize.cached():
                # the parametrized weights as the forward pass's scope cache held them, computed outside the
                # recomputation (so it saves the same tensors), in eval mode (no power step)
                with torch.no_grad():
                    for m in module.modules():
                        if parametrize.is_parametrized(m):
                            for name in m.parametrizations:
                                getattr(m, name)
                yield
        finally:
            for m, mode in modes:
                m.training = mode
            with torch.no_grad():
                for buffer, value in saved:
                    buffer.copy_(value)


def _depends_on_other_leaves(out: Tensor, leaf: Tensor) -> bool:
    """Whether the autograd graph of ``out`` reaches a leaf requiring a gradient other than ``leaf``."""
    stack, seen = [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)  # AccumulateGrad nodes hold their leaf
        if variable is not None:
            if variable is not leaf:
                return True
            continue
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False
