"""The example plugin: an operator, a solver and a demo (``deq demo example``) contributed through deq's hooks."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from deq.core.hookspecs import hookimpl
from deq.core.operator import LinearOperator
from deq.core.solvers import SolverInfo, Tracker


class FiniteDifference(LinearOperator):
    """Periodic forward difference along the last axis: ``(D x)[..., j] = x[..., j+1] - x[..., j]``.

    Any shape ``[B, ...]``; the adjoint is ``(D^T y)[..., j] = y[..., j-1] - y[..., j]``.
    """

    def _forward(self, x: Tensor) -> Tensor:
        return torch.roll(x, -1, dims=-1) - x

    def _adjoint(self, y: Tensor) -> Tensor:
        return torch.roll(y, 1, dims=-1) - y


def richardson(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    relaxation: float = 0.5,
) -> tuple[Tensor, SolverInfo]:
    """Relaxed fixed-point iteration ``z <- z + relaxation (g(z) - z)`` using deq-core's Tracker."""
    tracker = Tracker("example-richardson", z0, tol, stop_mode, divergence_ratio=100.0)
    z = z0
    for _ in range(max_iter):
        gz = g(z)
        if not bool(tracker.observe(z, gz).any()):
            break
        z = tracker.freeze(z + relaxation * (gz - z))
    return tracker.finish()


def demo(argv: list[str]) -> int:
    """Solve (I + 0.2 D^T D) z = b, the fixed point of z = b - 0.2 D^T D z, with the example operator and solver."""
    parser = argparse.ArgumentParser(prog="deq demo example", description=demo.__doc__)
    parser.add_argument("--n", type=int, default=64, help="signal length (default 64)")
    args = parser.parse_args(argv)
    D = FiniteDifference()
    b = torch.randn(1, args.n, dtype=torch.float64)
    z, info = richardson(lambda z: b - 0.2 * D.adjoint(D(z)), torch.zeros_like(b), tol=1e-10, max_iter=1000)
    residual = float((z + 0.2 * D.adjoint(D(z)) - b).norm() / b.norm())
    print(
        f"example-richardson: converged {int(info.converged.sum())}/{info.converged.numel()} in {int(info.nstep.max())} "
        f"iterations; relative residual of the linear system {residual:.1e}"
    )
    return 0


@hookimpl
def deq_operators() -> Mapping[str, Any]:
    return {"example-finite-difference": FiniteDifference}


@hookimpl
def deq_solvers() -> Mapping[str, Any]:
    return {"example-richardson": richardson}


@hookimpl
def deq_demos() -> Mapping[str, Any]:
    return {"example": demo}
