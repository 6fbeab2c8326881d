"""Counting the forward-model applications of a reconstruction (LUSER Table 4 and sec. 2.2: DEQ4IP applies
``A`` and ``A^T`` at every solver iteration, an LU model a fixed number of times).

:class:`CountingOperator` wraps an operator and counts the calls of ``A`` and ``A^T``; :func:`count_calls` runs a
reconstruction with the operator the model applies wrapped: the given one, or the model's own learned blur
(``learned_kernel``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from deq.core.operator import LinearOperator


class CountingOperator(LinearOperator):
    """``op`` with its calls counted: ``forward_calls`` (``A x``) and ``adjoint_calls`` (``A^T y``)."""

    def __init__(self, op: LinearOperator) -> None:
        super().__init__(op.in_shape, op.out_shape, input_kind=op.input_kind, output_kind=op.output_kind)
        self.op = op
        self.capabilities = op.capabilities
        self.forward_calls = self.adjoint_calls = 0

    def _forward(self, x: Tensor) -> Tensor:
        self.forward_calls += 1
        return self.op(x)

    def _adjoint(self, y: Tensor) -> Tensor:
        self.adjoint_calls += 1
        return self.op.adjoint(y)


@dataclass
class Calls:
    """Operator applications of one run: ``forward`` (``A x``) and ``adjoint`` (``A^T y``)."""

    forward: int
    adjoint: int

    @property
    def total(self) -> int:
        return self.forward + self.adjoint


def count_calls(model: nn.Module, operator: LinearOperator, run: Callable[[LinearOperator], object]) -> Calls:
    """The operator applications of ``run(operator)`` (e.g. ``lambda A: model.reconstruct(y, A)``): the calls of
    ``operator``, or for a model with its own learned blur (``model.step.blur``, which replaces ``operator`` in
    every step) the calls of that blur."""
    step = model.step
    internal = step.blur
    if internal is None:
        counted = CountingOperator(operator)
        run(counted)
        return Calls(counted.forward_calls, counted.adjoint_calls)
    counted = step.blur = CountingOperator(internal)
    try:
        run(operator)
    finally:
        step.blur = internal
    return Calls(counted.forward_calls, counted.adjoint_calls)
