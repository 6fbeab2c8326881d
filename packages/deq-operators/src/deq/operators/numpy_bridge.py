"""``torch.autograd.Function`` around a linear map whose backward autograd cannot derive (sigpy, ODL/astra in
numpy) or should not (the sparse CT matrix, whose transpose is stored): the backward of ``y = A x`` is
``grad_x = A^H grad_y`` (torch's convention for complex-linear maps too), itself wrapped the same way so that
double backward works."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

TensorMap = Callable[[Tensor], Tensor]


class _LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, apply: TensorMap, apply_adjoint: TensorMap) -> Tensor:  # type: ignore[override]
        ctx.maps = (apply, apply_adjoint)
        return apply(x.detach())

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        apply, apply_adjoint = ctx.maps
        return _LinearFunction.apply(grad, apply_adjoint, apply), None, None


def linear_function(x: Tensor, apply: TensorMap, apply_adjoint: TensorMap) -> Tensor:
    """``apply(x)`` with autograd through ``apply_adjoint``; both map detached tensors to tensors."""
    return _LinearFunction.apply(x, apply, apply_adjoint)
