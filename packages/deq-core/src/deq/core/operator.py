"""The ``LinearOperator`` protocol for forward models ``y = A x``.

A concrete operator implements only ``_forward(x)`` and ``_adjoint(y)`` (the Hermitian adjoint ``A^H``
for complex data) and declares its per-sample input/output shapes; it inherits input checking, the
normal operator ``A^H A``, a conjugate-gradient ``prox_l2``, the operator norm by power iteration,
composition ``A @ B``, scaling ``c * A`` and the adjoint view ``A.H``. Tensors an operator needs are
registered buffers, so ``.to(device)`` and ``state_dict`` work.

Shapes are batched: images ``[B, C, H, W]``, videos ``[B, C, T, H, W]``; ``in_shape``/``out_shape`` give
the per-sample part (without ``B``), with ``None`` for "any size".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from deq.core.cg import batch_dot, batch_norm2, conjugate_gradient

Shape = tuple[int | None, ...]

#: what an operator accepts: "real" tensors, "complex" tensors, or "any"
DTYPE_KINDS = ("real", "complex", "any")


def format_shape(shape: Sequence[int | None], batch: bool = True) -> str:
    """``[B, 1, 256, 256]`` style text for error messages (``*`` for any size)."""
    dims = ["B"] if batch else []
    dims += ["*" if d is None else str(d) for d in shape]
    return "[" + ", ".join(dims) + "]"


def check_shape(x: Tensor, shape: Shape | None, what: str, dtype_kind: str = "any") -> None:
    """Raise a ``ValueError``/``TypeError`` unless ``x`` is ``[B, *shape]`` of the accepted dtype kind."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: expected a torch.Tensor, got {type(x).__name__}")
    if dtype_kind == "real" and x.is_complex():
        raise TypeError(f"{what}: expected a real tensor, got {x.dtype}")
    if dtype_kind == "complex" and not x.is_complex():
        raise TypeError(
            f"{what}: expected a complex tensor, got {x.dtype} (convert with torch.view_as_complex or "
            f"choose the operator's real 2-channel view)"
        )
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{what}: expected a floating-point or complex tensor, got {x.dtype}")
    if shape is None:
        return
    ok = x.dim() == len(shape) + 1 and all(s is None or s == d for s, d in zip(shape, x.shape[1:]))
    if not ok:
        raise ValueError(f"{what}: expected shape {format_shape(shape)} (B any), got {list(x.shape)}")


class LinearOperator(nn.Module):
    """Base class of linear forward models ``A: X -> Y`` on batched tensors.

    Subclasses implement ``_forward`` (``x [B, *in_shape] -> y [B, *out_shape]``) and ``_adjoint``
    (its Hermitian adjoint) and may override ``prox_l2`` with a closed form.

    Args:
        in_shape: per-sample input shape (``None`` entries: any size); ``None``: not checked.
        out_shape: per-sample output shape, likewise.
        input_kind: "real", "complex" or "any": what dtype ``x`` may have.
        output_kind: likewise for ``y``.
    """

    def __init__(
        self,
        in_shape: Shape | None = None,
        out_shape: Shape | None = None,
        *,
        input_kind: str = "any",
        output_kind: str = "any",
    ) -> None:
        super().__init__()
        for kind in (input_kind, output_kind):
            if kind not in DTYPE_KINDS:
                raise ValueError(f"dtype kind must be one of {DTYPE_KINDS}, got {kind!r}")
        self.in_shape = None if in_shape is None else tuple(in_shape)
        self.out_shape = None if out_shape is None else tuple(out_shape)
        self.input_kind = input_kind
        self.output_kind = output_kind

    # -- what subclasses implement -------------------------------------------------------------------
    def _forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _forward")

    def _adjoint(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _adjoint")

    # -- public API ----------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """``y = A x``; ``x`` is ``[B, *in_shape]``."""
        check_shape(x, self.in_shape, f"{type(self).__name__} input", self.input_kind)
        return self._forward(x)

    def adjoint(self, y: Tensor) -> Tensor:
        """``x = A^H y``; ``y`` is ``[B, *out_shape]``."""
        check_shape(y, self.out_shape, f"{type(self).__name__}.adjoint input", self.output_kind)
        return self._adjoint(y)

    @property
    def H(self) -> LinearOperator:
        """The adjoint as an operator (``A.H(y) == A.adjoint(y)``)."""
        return AdjointOperator(self)

    def normal(self, x: Tensor) -> Tensor:
        """``A^H A x``."""
        return self.adjoint(self.forward(x))

    def prox_l2(self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float = 1e-6, max_iter: int = 100) -> Tensor:
        """``argmin_x 1/2 ||A x - y||^2 + 1/(2 gamma) ||x - z||^2``.

        Solves ``(A^H A + I/gamma) x = A^H y + z/gamma`` by conjugate gradient, warm-started at ``z``;
        ``gamma`` is a positive scalar or a per-sample ``[B]`` tensor. Subclasses override with closed forms.
        """
        inv_gamma = inverse_gamma(gamma, z)
        rhs = self.adjoint(y) + inv_gamma * z
        return conjugate_gradient(lambda v: self.normal(v) + inv_gamma * v, rhs, z, tol=tol, max_iter=max_iter)

    def example_input(self, x_shape: Sequence[int] | None = None, *, dtype: torch.dtype | None = None, device=None) -> Tensor:
        """A random input ``[B, *in_shape]`` (``x_shape`` gives the full shape if ``in_shape`` has free sizes),
        by default in the precision of the operator's buffers."""
        shape = self._full_input_shape(x_shape)
        if dtype is None:
            real = _buffer_dtype(self)
            complex_ = torch.complex128 if real == torch.float64 else torch.complex64
            dtype = complex_ if self.input_kind == "complex" else real
        device = device if device is not None else _buffer_device(self)
        return torch.randn(shape, dtype=dtype, device=device)

    def _full_input_shape(self, x_shape: Sequence[int] | None) -> tuple[int, ...]:
        if x_shape is not None:
            return tuple(x_shape)
        if self.in_shape is None or any(d is None for d in self.in_shape):
            raise ValueError(
                f"{type(self).__name__} has input shape {format_shape(self.in_shape or ('...',))} with free "
                f"sizes; pass x_shape=[B, ...] explicitly"
            )
        return (1, *self.in_shape)

    @torch.no_grad()
    def norm(
        self,
        x_shape: Sequence[int] | None = None,
        *,
        n_iter: int = 100,
        tol: float = 1e-6,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> float:
        """Operator norm ``||A||_2 = sqrt(lambda_max(A^H A))`` by power iteration on ``A^H A``."""
        x = self.example_input(x_shape, dtype=dtype)
        if generator is not None:
            x = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)
        x = x / batch_norm2(x).max()
        lam = 0.0
        for _ in range(n_iter):
            v = self.normal(x)
            lam_new = float(batch_norm2(v).max())
            if lam_new == 0.0:
                return 0.0
            x = v / lam_new
            if abs(lam_new - lam) <= tol * lam_new:
                lam = lam_new
                break
            lam = lam_new
        return lam**0.5

    # -- algebra -------------------------------------------------------------------------------------
    def __matmul__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return ComposedOperator(self, other)

    def __mul__(self, scale: float) -> LinearOperator:
        if isinstance(scale, (int, float, complex)):
            return ScaledOperator(self, scale)
        return NotImplemented

    __rmul__ = __mul__


def inverse_gamma(gamma: float | Tensor, like: Tensor) -> Tensor | float:
    """``1/gamma`` for ``prox_l2``: a positive scalar, or a per-sample ``[B]`` tensor reshaped to broadcast
    against ``like [B, ...]``; a non-positive ``gamma`` raises ``ValueError``."""
    if isinstance(gamma, Tensor):
        if bool((gamma <= 0).any()):
            raise ValueError("prox_l2: gamma must be positive")
        g = gamma.to(device=like.device)
        if g.dim() == 1:
            g = g.reshape(-1, *([1] * (like.dim() - 1)))
        return 1.0 / g
    if gamma <= 0:
        raise ValueError(f"prox_l2: gamma must be positive, got {gamma}")
    return 1.0 / gamma


def _buffer_dtype(module: nn.Module) -> torch.dtype:
    """The real floating dtype of the operator's first floating buffer (float32 if it has none)."""
    for t in module.buffers():
        if t.is_floating_point() or t.is_complex():
            return t.real.dtype if t.is_complex() else t.dtype
    return torch.float32


def _buffer_device(module: nn.Module) -> torch.device:
    for t in module.buffers():
        return t.device
    for t in module.parameters():
        return t.device
    return torch.device("cpu")


class AdjointOperator(LinearOperator):
    """``A^H`` as an operator of its own."""

    def __init__(self, op: LinearOperator) -> None:
        super().__init__(op.out_shape, op.in_shape, input_kind=op.output_kind, output_kind=op.input_kind)
        self.op = op

    def _forward(self, x: Tensor) -> Tensor:
        return self.op.adjoint(x)

    def _adjoint(self, y: Tensor) -> Tensor:
        return self.op(y)


class ComposedOperator(LinearOperator):
    """``A @ B``: ``x -> A(B(x))``, adjoint ``y -> B^H(A^H(y))``."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator) -> None:
        super().__init__(inner.in_shape, outer.out_shape, input_kind=inner.input_kind, output_kind=outer.output_kind)
        self.outer = outer
        self.inner = inner

    def _forward(self, x: Tensor) -> Tensor:
        return self.outer(self.inner(x))

    def _adjoint(self, y: Tensor) -> Tensor:
        return self.inner.adjoint(self.outer.adjoint(y))


class ScaledOperator(LinearOperator):
    """``c * A``; the adjoint uses ``conj(c)``."""

    def __init__(self, op: LinearOperator, scale: float | complex) -> None:
        super().__init__(op.in_shape, op.out_shape, input_kind=op.input_kind, output_kind=op.output_kind)
        self.op = op
        self.scale = scale

    def _forward(self, x: Tensor) -> Tensor:
        return self.scale * self.op(x)

    def _adjoint(self, y: Tensor) -> Tensor:
        scale = self.scale.conjugate() if isinstance(self.scale, complex) else self.scale
        return scale * self.op.adjoint(y)


def adjoint_test(
    op: LinearOperator,
    x_shape: Sequence[int] | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> float:
    """Relative dot-product test ``|<A x, y> - <x, A^H y>| / (||A x|| ||y||)`` on random ``x``, ``y``.

    ``x`` has shape ``x_shape`` (default ``[1, *op.in_shape]``) and ``dtype``; ``y`` has the shape and
    dtype of ``A x``. A correct adjoint gives round-off level (about 1e-7 in float32, 1e-15 in float64).
    """
    shape = op._full_input_shape(x_shape)
    device = _buffer_device(op)
    x = torch.randn(shape, dtype=dtype, device=device, generator=generator)
    ax = op(x)
    y = torch.randn(ax.shape, dtype=ax.dtype, device=device, generator=generator)
    aty = op.adjoint(y)
    lhs = batch_dot(ax, y).sum()
    rhs = batch_dot(x, aty).sum()
    denom = float(torch.linalg.vector_norm(ax) * torch.linalg.vector_norm(y))
    if denom == 0.0:
        raise ValueError(f"adjoint_test: A x is zero for a random x of shape {list(shape)}; cannot test")
    return float(abs(lhs - rhs)) / denom
