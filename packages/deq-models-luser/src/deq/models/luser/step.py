"""The data-consistency stage every model here shares: one gradient step on ``1/2 ||y - A x||^2``,

    d = x + lambda A^T (y - A x),                                                       (LUSER eq. 4-5)

with a learnable step size ``lambda`` (LUSER sec. 3: "d_k = x_k + lambda A^T (y - A x_k)"), and the start of
the iteration: ``x_0 = A^T y`` for CT and MRI, ``x_0 = y`` for deblurring (LUSER sec. 4.1).

Optionally the stage carries its own blur operator with a learnable ``[1, C, 9, 9]`` kernel, initialised to
the deblurring task's Gaussian (9x9, variance 5): Gilton et al.'s code registers the parameters of the model's
internal forward operator as parameters of the network, which is how LUSER Table 3 counts 243 more parameters
for LU-DnCNN, DEQ4IP and LUSER-SW in deblurring (not for LUSER-DW). With ``learned_kernel`` the stage applies
that operator in place of the given one, which must then be a :class:`~deq.operators.blur.Blur`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from deq.core.operator import LinearOperator
from deq.operators.blur import Blur
from deq.operators.kernels import gaussian_kernel

#: the starts of the iteration: ``A^T y`` (CT, MRI) or ``y`` itself (deblurring, where ``y`` lies in image space)
INITS = ("adjoint", "measurement")
#: the deblurring task's kernel (LUSER sec. 4.1): 9x9 Gaussian of variance 5
KERNEL_SIZE, KERNEL_VARIANCE = 9, 5.0


def task_kernel(channels: int = 1) -> Tensor:
    """The deblurring kernel ``[1, channels, 9, 9]`` (the same Gaussian on every channel)."""
    k = gaussian_kernel(KERNEL_SIZE, math.sqrt(KERNEL_VARIANCE))
    return k.expand(1, channels, KERNEL_SIZE, KERNEL_SIZE).clone()


class DataStep(nn.Module):
    """``d = x + lambda A^T (y - A x)`` on ``x [B, C, H, W]`` (eq. 4-5), ``lambda`` learnable.

    Args:
        channels: image channels ``C`` (checked against the iterates).
        init: where the iteration starts, ``"adjoint"`` (``A^T y``) or ``"measurement"`` (``y``).
        learned_kernel: carry a blur operator with a learnable ``[1, C, 9, 9]`` kernel (see the module docstring).
        step_size: the initial ``lambda`` (the operators of the tasks have norm 1, so 1 is a full Landweber step).
    """

    def __init__(self, channels: int, init: str = "adjoint", learned_kernel: bool = False, step_size: float = 1.0) -> None:
        super().__init__()
        if init not in INITS:
            raise ValueError(f"DataStep: init must be one of {INITS}, got {init!r}")
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"DataStep: channels must be a positive integer, got {channels!r}")
        self.channels, self.init = channels, init
        self.step_size = nn.Parameter(torch.tensor(float(step_size)))
        self.blur = Blur(task_kernel(channels), learnable_kernel=True) if learned_kernel else None

    def operator(self, operator: LinearOperator) -> LinearOperator:
        """The operator the stage applies: ``operator``, or the learned blur (then ``operator`` must be a Blur)."""
        if self.blur is None:
            return operator
        if not isinstance(operator, Blur):
            raise ValueError(
                f"this model was built with learned_kernel=True (its own learnable 9x9 blur kernel), so it reconstructs "
                f"blurred images only; expected a deq.operators.Blur operator, got {type(operator).__name__}"
            )
        return self.blur

    def check(self, y: Tensor, operator: LinearOperator, owner: str) -> None:
        """Raise a clear error for a measurement the model cannot use: not a tensor, NaN/Inf values, an operator
        whose images do not have ``C`` channels, or (start ``y``) a measurement that is not a ``[B, C, H, W]`` image."""
        if not isinstance(y, Tensor):
            raise TypeError(f"{owner}: the measurement must be a torch.Tensor, got {type(y).__name__}")
        if not isinstance(operator, LinearOperator):
            raise TypeError(f"{owner}: the operator must be a deq LinearOperator, got {type(operator).__name__}")
        if not bool(torch.isfinite(y).all()):
            raise ValueError(f"{owner}: the measurement holds {int((~torch.isfinite(y)).sum())} NaN/Inf value(s)")
        shape = operator.in_shape
        if shape is not None and shape[0] is not None and shape[0] != self.channels:
            raise ValueError(
                f"{owner}: the operator takes images of {shape[0]} channel(s) but the model has {self.channels}; "
                f"build the model with channels={shape[0]} (or the task whose images these are)"
            )
        if self.init == "measurement" and (y.dim() != 4 or y.shape[1] != self.channels):
            raise ValueError(
                f"{owner}: init='measurement' starts from y, which must be an image [B, {self.channels}, H, W]; "
                f"got shape {list(y.shape)}"
            )

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """``x_0``: ``A^T y`` or ``y`` (LUSER sec. 4.1)."""
        return y if self.init == "measurement" else self.operator(operator).adjoint(y)

    def forward(self, x: Tensor, y: Tensor, operator: LinearOperator) -> Tensor:
        op = self.operator(operator)
        return x + self.step_size * op.adjoint(y - op(x))
