"""The ``LinearOperator`` protocol for forward models ``y = A x``.

A concrete operator implements only ``_forward(x)`` and ``_adjoint(y)`` (the Hermitian adjoint ``A^H``
for complex data) and declares its per-sample input/output shapes; it inherits input checking, the
normal operator ``A^H A``, a conjugate-gradient ``prox_l2``, the operator norm by power iteration,
composition ``A @ B``, sums ``A + B``, scaling ``c * A``, vertical stacking :func:`vstack`, the adjoint view
``A.H`` and, for complex-input operators, the real-input view ``A.real_input()``. Tensors an operator needs are
registered buffers, so ``.to(device)`` and ``state_dict`` work.

What an operator can do beyond ``A`` and ``A^H`` is declared in its ``capabilities`` (a set of
:class:`Capability`): a closed-form ``prox_l2``, the projection ``project(x, y)`` onto ``{x : A x = y}`` and a
cheap start ``initial_estimate(y)``. Algorithms check ``A.supports(...)`` instead of probing attributes; calling
a method whose capability is not declared raises a ``NotImplementedError`` that names the capability.

Shapes are batched: images ``[B, C, H, W]``, videos ``[B, C, T, H, W]``; ``in_shape``/``out_shape`` give
the per-sample part (without ``B``), with ``None`` for "any size".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

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


class Capability(str, Enum):
    """What an operator can do beyond ``A x`` and ``A^H y``; declared in ``LinearOperator.capabilities``."""

    #: ``prox_l2`` is exact (a closed form), not the base class's conjugate gradient
    CLOSED_FORM_PROX = "closed_form_prox"
    #: ``project(x, y) = x + A^H (A A^H)^{-1} (y - A x)``, the Euclidean projection onto ``{x : A x = y}``,
    #: closed form where ``A A^H`` is diagonal (pseudo-inverse where some diagonal entries are zero)
    PROJECTION = "projection"
    #: ``initial_estimate(y)``: a cheap start ``x0`` with ``A x0 = y``, a normalised back-projection
    INITIAL_ESTIMATE = "initial_estimate"


_CAPABILITY_HELP = {
    Capability.CLOSED_FORM_PROX: "an exact prox_l2",
    Capability.PROJECTION: "the projection project(x, y) onto {x : A x = y}, closed form when A A^H is diagonal",
    Capability.INITIAL_ESTIMATE: "a normalised back-projection start initial_estimate(y)",
}


class LinearOperator(nn.Module):
    """Base class of linear forward models ``A: X -> Y`` on batched tensors.

    Subclasses implement ``_forward`` (``x [B, *in_shape] -> y [B, *out_shape]``) and ``_adjoint``
    (its Hermitian adjoint), may override ``prox_l2`` with a closed form, and declare in ``capabilities``
    what they offer beyond that (``_project`` and ``_initial_estimate`` implement the two optional methods).
    ``capabilities`` is a class attribute, or set on the instance when it depends on the configuration.

    Args:
        in_shape: per-sample input shape (``None`` entries: any size); ``None``: not checked.
        out_shape: per-sample output shape, likewise.
        input_kind: "real", "complex" or "any": what dtype ``x`` may have.
        output_kind: likewise for ``y``.
    """

    capabilities: frozenset[Capability] = frozenset()

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

    # -- declared capabilities ---------------------------------------------------------------------------
    def supports(self, capability: Capability | str) -> bool:
        """Whether this operator declares ``capability`` (a :class:`Capability` or its value)."""
        return Capability(capability) in self.capabilities

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise NotImplementedError(
                f"{type(self).__name__} does not have the capability {capability.value!r} "
                f"({_CAPABILITY_HELP[capability]}); check A.supports(Capability.{capability.name}) first"
            )

    def project(self, x: Tensor, y: Tensor) -> Tensor:
        """Euclidean projection of ``x [B, *in_shape]`` onto ``{x : A x = y}``, ``y [B, *out_shape]``:
        ``x + A^H (A A^H)^{-1} (y - A x)`` (e.g. the GAP step, Zhao et al. eq. 8). Needs
        :attr:`Capability.PROJECTION`; ``x`` and ``y`` are checked against the operator's shapes."""
        self._require(Capability.PROJECTION)
        name = type(self).__name__
        check_shape(x, self.in_shape, f"{name}.project x", self.input_kind)
        check_shape(y, self.out_shape, f"{name}.project y", self.output_kind)
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{name}.project: x holds B={x.shape[0]} samples but y holds B={y.shape[0]}; expected equal")
        return self._project(x, y)

    def initial_estimate(self, y: Tensor) -> Tensor:
        """A cheap start ``x0 [B, *in_shape]`` with ``A x0 = y`` for ``y [B, *out_shape]`` (what it is depends on
        the operator; see its docstring). Needs :attr:`Capability.INITIAL_ESTIMATE`."""
        self._require(Capability.INITIAL_ESTIMATE)
        check_shape(y, self.out_shape, f"{type(self).__name__}.initial_estimate y", self.output_kind)
        return self._initial_estimate(y)

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} declares {Capability.PROJECTION.value!r} but does not implement _project"
        )

    def _initial_estimate(self, y: Tensor) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} declares {Capability.INITIAL_ESTIMATE.value!r} but does not implement _initial_estimate"
        )

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
        ``gamma`` is a positive scalar or a per-sample ``[B]`` tensor (``inf``: no proximal term, CG on the
        normal equations). Subclasses override with closed forms and declare :attr:`Capability.CLOSED_FORM_PROX`.
        """
        inv_gamma = inverse_gamma(gamma, z, allow_inf=True)
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

    def __add__(self, other: LinearOperator) -> LinearOperator:
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return SumOperator(self, other)

    def __mul__(self, scale: float) -> LinearOperator:
        if isinstance(scale, (int, float, complex)):
            return ScaledOperator(self, scale)
        return NotImplemented

    __rmul__ = __mul__

    def real_input(self) -> LinearOperator:
        """The real-input view of a complex-input operator: ``x -> A x`` for real ``x``, whose adjoint under the
        real inner product ``Re<., .>`` is ``Re(A^H y)`` (see :class:`RealInputOperator`)."""
        return RealInputOperator(self)


def inverse_gamma(gamma: float | Tensor, like: Tensor, *, allow_inf: bool = False) -> Tensor | float:
    """``1/gamma`` for ``prox_l2``: a positive scalar, or a per-sample ``[B]`` tensor reshaped to broadcast
    against ``like [B, ...]``. ``inf`` (no proximal term) gives 0 where the caller can solve without the proximal
    term (``allow_inf``) and is rejected otherwise, as are non-positive and NaN values (``ValueError``). A tensor
    stays a tensor, so gradients reach a learnable ``gamma``."""
    if isinstance(gamma, Tensor):
        values = gamma.detach()
        if bool((~(values > 0)).any()) or (not allow_inf and bool(torch.isinf(values).any())):
            raise ValueError(f"prox_l2: gamma must be positive{_INF_NOTE[allow_inf]}, got {values.cpu().flatten()[:8].tolist()}")
        g = gamma.to(device=like.device)
        if g.dim() == 1:
            g = g.reshape(-1, *([1] * (like.dim() - 1)))
        return 1.0 / g
    if not gamma > 0 or (not allow_inf and math.isinf(gamma)):
        raise ValueError(f"prox_l2: gamma must be positive{_INF_NOTE[allow_inf]}, got {gamma}")
    return 1.0 / gamma


_INF_NOTE = {True: " (inf allowed)", False: " and finite (this operator's closed form needs a proximal term)"}


def _buffer_dtype(module: nn.Module) -> torch.dtype:
    """The real floating dtype of the operator's first floating buffer or parameter (float32 if it has none)."""
    for t in (*module.buffers(), *module.parameters()):
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
    """``c * A``; the adjoint uses ``conj(c)``. Keeps ``A``'s capabilities (for ``c != 0``): since
    ``||c A x - y||^2 = |c|^2 ||A x - y / c||^2``, ``prox_l2(z, y, gamma)`` is ``A``'s with ``(z, y / c, |c|^2 gamma)``,
    and ``{x : c A x = y} = {x : A x = y / c}``."""

    def __init__(self, op: LinearOperator, scale: float | complex) -> None:
        super().__init__(op.in_shape, op.out_shape, input_kind=op.input_kind, output_kind=op.output_kind)
        self.op = op
        self.scale = scale
        self.capabilities = op.capabilities if scale != 0 else frozenset()

    def _forward(self, x: Tensor) -> Tensor:
        return self.scale * self.op(x)

    def _adjoint(self, y: Tensor) -> Tensor:
        scale = self.scale.conjugate() if isinstance(self.scale, complex) else self.scale
        return scale * self.op.adjoint(y)

    def prox_l2(self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float = 1e-6, max_iter: int = 100) -> Tensor:
        """``A``'s closed form with ``(z, y / c, |c|^2 gamma)`` when ``A`` has one, else conjugate gradient."""
        if not self.supports(Capability.CLOSED_FORM_PROX):
            return super().prox_l2(z, y, gamma, tol=tol, max_iter=max_iter)
        return self.op.prox_l2(z, y / self.scale, gamma * abs(self.scale) ** 2, tol=tol, max_iter=max_iter)

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        return self.op.project(x, y / self.scale)

    def _initial_estimate(self, y: Tensor) -> Tensor:
        return self.op.initial_estimate(y / self.scale)


def _merge_shapes(a: Shape | None, b: Shape | None, what: str) -> Shape | None:
    """The per-sample shape both ``a`` and ``b`` accept (``None`` entries are free), or a ``ValueError``."""
    if a is None or b is None:
        return b if a is None else a
    if len(a) != len(b) or any(i is not None and j is not None and i != j for i, j in zip(a, b)):
        raise ValueError(f"{what}: shapes {format_shape(a)} and {format_shape(b)} do not match")
    return tuple(i if i is not None else j for i, j in zip(a, b))


def _merge_kinds(a: str, b: str, what: str) -> str:
    if a == "any" or a == b:
        return b
    if b == "any":
        return a
    raise ValueError(f"{what}: one operator takes {a} tensors, the other {b} tensors")


class SumOperator(LinearOperator):
    """``A + B``: ``x -> A x + B x``, adjoint ``y -> A^H y + B^H y``; both must share input and output shapes
    and dtype kinds."""

    def __init__(self, first: LinearOperator, second: LinearOperator) -> None:
        what = f"{type(first).__name__} + {type(second).__name__}"
        super().__init__(
            _merge_shapes(first.in_shape, second.in_shape, f"{what} (inputs)"),
            _merge_shapes(first.out_shape, second.out_shape, f"{what} (outputs)"),
            input_kind=_merge_kinds(first.input_kind, second.input_kind, f"{what} (inputs)"),
            output_kind=_merge_kinds(first.output_kind, second.output_kind, f"{what} (outputs)"),
        )
        self.first = first
        self.second = second

    def _forward(self, x: Tensor) -> Tensor:
        return self.first(x) + self.second(x)

    def _adjoint(self, y: Tensor) -> Tensor:
        return self.first.adjoint(y) + self.second.adjoint(y)


class StackedOperator(LinearOperator):
    """Vertical stack ``[A_1; ...; A_k]``: ``x [B, *in_shape] -> y [B, n_1 + ... + n_k]``, the outputs of the
    ``A_i`` flattened per sample and concatenated in order (``n_i`` = number of entries of one sample of
    ``A_i x``); adjoint ``y -> sum_i A_i^H y_i``. :meth:`split` turns ``y`` back into the ``A_i``'s shapes.

    The per-sample input shape must be fully known (from the operators, else ``x_shape``), since the output sizes
    follow from it; operators whose output shape has free sizes are evaluated once on a zero input of batch 1
    to find it. All outputs must be of one kind (all real or all complex).
    """

    def __init__(self, operators: Sequence[LinearOperator], x_shape: Sequence[int] | None = None) -> None:
        ops = list(operators)
        if not ops or not all(isinstance(op, LinearOperator) for op in ops):
            raise TypeError("vstack: expected a non-empty sequence of LinearOperators")
        in_shape: Shape | None = None if x_shape is None else tuple(x_shape)
        in_kind = out_kind = "any"
        for op in ops:
            in_shape = _merge_shapes(in_shape, op.in_shape, "vstack (inputs)")
            in_kind = _merge_kinds(in_kind, op.input_kind, "vstack (inputs)")
            out_kind = _merge_kinds(out_kind, op.output_kind, "vstack (outputs)")
        if in_shape is None or any(d is None for d in in_shape):
            raise ValueError(
                f"vstack: the per-sample input shape {format_shape(in_shape or ('...',))} has free sizes; pass "
                f"x_shape=(...) without the batch dimension"
            )
        out_shapes = [self._out_shape(op, in_shape) for op in ops]
        sizes = [math.prod(shape) for shape in out_shapes]
        super().__init__(in_shape, (sum(sizes),), input_kind=in_kind, output_kind=out_kind)
        self.ops = nn.ModuleList(ops)
        self.out_shapes = out_shapes
        self.sizes = sizes

    @staticmethod
    def _out_shape(op: LinearOperator, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if op.out_shape is not None and all(d is not None for d in op.out_shape):
            return tuple(op.out_shape)
        with torch.no_grad():
            return tuple(op(op.example_input((1, *in_shape)).zero_()).shape[1:])

    def split(self, y: Tensor) -> list[Tensor]:
        """``y [B, n_1 + ... + n_k]`` -> ``[y_1 [B, *out_shape_1], ..., y_k]``."""
        check_shape(y, self.out_shape, "StackedOperator.split input", self.output_kind)
        parts = torch.split(y, self.sizes, dim=1)
        return [part.reshape(y.shape[0], *shape) for part, shape in zip(parts, self.out_shapes)]

    def _forward(self, x: Tensor) -> Tensor:
        return torch.cat([op(x).reshape(x.shape[0], -1) for op in self.ops], dim=1)

    def _adjoint(self, y: Tensor) -> Tensor:
        parts = self.split(y)
        out = self.ops[0].adjoint(parts[0])
        for op, part in zip(self.ops[1:], parts[1:]):
            out = out + op.adjoint(part)
        return out


def vstack(operators: Sequence[LinearOperator], *, x_shape: Sequence[int] | None = None) -> StackedOperator:
    """``[A_1; ...; A_k]`` with outputs concatenated into one ``[B, n_1 + ... + n_k]`` tensor (see
    :class:`StackedOperator`); ``x_shape`` is the per-sample input shape when the operators leave it free."""
    return StackedOperator(operators, x_shape)


class RealInputOperator(LinearOperator):
    """``x -> A x`` for real ``x`` of an operator ``A`` on complex inputs (e.g. MRI of real images).

    A map from the real space of ``x`` to the complex space of ``y``; with the real inner product ``Re<u, v>``
    on ``y`` (the one of the loss ``1/2 ||A x - y||^2``), its adjoint is ``y -> Re(A^H y)``. So
    ``A.real_input().adjoint(A.real_input()(x) - y)`` is the gradient ``Re(A^H (A x - y))`` over real ``x``
    (SD-RED's data term). ``prox_l2`` is the base class's conjugate gradient on ``Re(A^H A)``.
    """

    def __init__(self, op: LinearOperator) -> None:
        if op.input_kind != "complex":
            raise ValueError(
                f"real_input(): {type(op).__name__} takes {op.input_kind} inputs; expected an operator on complex inputs"
            )
        super().__init__(op.in_shape, op.out_shape, input_kind="real", output_kind=op.output_kind)
        self.op = op

    def _forward(self, x: Tensor) -> Tensor:
        return self.op(x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64))

    def _adjoint(self, y: Tensor) -> Tensor:
        return self.op.adjoint(y).real


@torch.no_grad()
def adjoint_test(
    op: LinearOperator,
    x_shape: Sequence[int] | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> float:
    """Relative dot-product test ``|<A x, y> - <x, A^H y>| / (||A x|| ||y||)`` on random ``x``, ``y``.

    ``x`` has shape ``x_shape`` (default ``[1, *op.in_shape]``) and ``dtype``; ``y`` has the shape and
    dtype of ``A x``. When one side is real and the other complex (a real-linear map such as
    :class:`RealInputOperator`) the inner product is the real one, ``Re<., .>``. A correct adjoint gives
    round-off level (about 1e-7 in float32, 1e-15 in float64).
    """
    shape = op._full_input_shape(x_shape)
    device = _buffer_device(op)
    x = torch.randn(shape, dtype=dtype, device=device, generator=generator)
    ax = op(x)
    y = torch.randn(ax.shape, dtype=ax.dtype, device=device, generator=generator)
    aty = op.adjoint(y)
    lhs = batch_dot(ax, y).sum()
    rhs = batch_dot(x, aty).sum()
    if ax.is_complex() != x.is_complex():
        lhs, rhs = lhs.real, rhs.real
    denom = float(torch.linalg.vector_norm(ax) * torch.linalg.vector_norm(y))
    if denom == 0.0:
        raise ValueError(f"adjoint_test: A x is zero for a random x of shape {list(shape)}; cannot test")
    return float(abs(lhs - rhs)) / denom
