"""Typed settings of an equilibrium solve: forward solver, stopping rules and backward mode.

One :class:`SolverConfig` configures a :class:`~deq.core.deq.DEQ` and is stored (as a plain dictionary) in the
weight files of equilibrium models. Every field is checked when the configuration is made: a solver option
the chosen solver does not take is an error naming the options it accepts, never silently dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from deq.core.solvers import solver_options
from deq.core.solvers._tracker import STOP_MODES

BACKWARDS = ("ift", "neumann", "jfb")
#: ``SolverConfig.forward_autocast`` values and the dtypes they select
AUTOCAST_DTYPES: dict[str | None, torch.dtype | None] = {None: None, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class SolverConfig:
    """Forward and backward settings of ``z* = f(z*, *inputs)``.

    Attributes:
        solver: registered forward solver name (``"anderson"``, ``"broyden"``, ``"fixed_point"``,
            ``"nesterov"``, or a plugin's), or a solver function.
        tol, stop_mode: forward stopping rule per sample (``"rel"``: ``||f(z)-z|| / ||f(z)||``, ``"abs"``).
        max_iter: forward iterations in training mode.
        eval_max_iter: forward iterations in evaluation mode (``None``: ``max_iter``), as TorchDEQ's
            ``eval_f_max_iter``: a model trained with few iterations can be solved further at test time.
        solver_options: the forward solver's own options (e.g. ``{"m": 5, "beta": 1.0}`` for Anderson).
        backward: ``"ift"`` (implicit function theorem), ``"neumann"`` or ``"jfb"`` (phantom gradient).
        recompute: ``"ift"`` / ``"neumann"``: keep only ``z*`` and the inputs from the forward pass and evaluate
            ``f(z*)`` again in the backward pass instead of storing its activations (one more evaluation of ``f``
            per backward; the gradients are the same). Training memory of the layer is then its state alone.
        backward_solver: solver of the IFT adjoint fixed point (``None``: the forward solver).
        backward_tol, backward_max_iter, backward_solver_options: its stopping rule and options.
        neumann_terms: ``K`` of the truncated Neumann series.
        jfb_steps, jfb_beta: ``k`` relaxed steps ``z <- (1 - beta) z + beta f(z)`` of the phantom gradient
            (``beta`` is the weight of ``f``, the convention of every deq solver).
        warn_unconverged: warn (:class:`~deq.core.solvers.SolverNotConvergedWarning`) when a forward or
            IFT-backward solve stops at its iteration limit above the tolerance without diverging.
        forward_autocast: ``"bfloat16"`` or ``"float16"``: the forward solve evaluates ``f`` under
            :func:`torch.autocast` of that dtype on the iterate's device (convolutions and matrix products in low
            precision), its output cast back to the iterate's dtype; the solver's own arithmetic (Anderson's
            least squares, the stopping rule), the recorded application ``f(z*)`` and every backward stay in the
            iterate's dtype. About twice as fast on CPUs with AVX512-BF16 / AMX and on GPUs; the rounding of
            ``f`` puts a floor of roughly ``2^-8`` relative (bfloat16) under the reachable residual, so pair it
            with a ``tol`` above that floor. ``None`` (default): full precision.
    """

    solver: str | Callable[..., Any] = "anderson"
    tol: float = 1e-5
    max_iter: int = 50
    eval_max_iter: int | None = None
    stop_mode: str = "rel"
    solver_options: dict[str, Any] = field(default_factory=dict)
    backward: str = "ift"
    recompute: bool = False
    backward_solver: str | Callable[..., Any] | None = None
    backward_tol: float = 1e-6
    backward_max_iter: int = 100
    backward_solver_options: dict[str, Any] = field(default_factory=dict)
    neumann_terms: int = 10
    jfb_steps: int = 1
    jfb_beta: float = 1.0
    warn_unconverged: bool = True
    forward_autocast: str | None = None

    def __post_init__(self) -> None:
        if self.backward not in BACKWARDS:
            raise ValueError(f"SolverConfig: backward must be one of {BACKWARDS}, got {self.backward!r}")
        if self.stop_mode not in STOP_MODES:
            raise ValueError(f"SolverConfig: stop_mode must be one of {STOP_MODES}, got {self.stop_mode!r}")
        for name in ("max_iter", "backward_max_iter", "jfb_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SolverConfig: {name} must be a positive integer, got {value!r}")
        if self.eval_max_iter is not None and (not isinstance(self.eval_max_iter, int) or self.eval_max_iter < 1):
            raise ValueError(f"SolverConfig: eval_max_iter must be a positive integer or None, got {self.eval_max_iter!r}")
        if not isinstance(self.neumann_terms, int) or self.neumann_terms < 0:
            raise ValueError(f"SolverConfig: neumann_terms must be an integer >= 0, got {self.neumann_terms!r}")
        if self.tol <= 0 or self.backward_tol <= 0:
            raise ValueError(f"SolverConfig: tol and backward_tol must be positive, got {self.tol}, {self.backward_tol}")
        if not isinstance(self.recompute, bool):
            raise ValueError(f"SolverConfig: recompute must be True or False, got {self.recompute!r}")
        if self.forward_autocast not in AUTOCAST_DTYPES:
            raise ValueError(
                f"SolverConfig: forward_autocast must be one of {sorted(k for k in AUTOCAST_DTYPES if k)} or None, "
                f"got {self.forward_autocast!r}"
            )
        if self.recompute and self.backward == "jfb":
            raise ValueError("SolverConfig: recompute applies to the ift and neumann backwards; jfb differentiates its steps")
        if not 0.0 < self.jfb_beta <= 1.0:
            raise ValueError(f"SolverConfig: jfb_beta (the weight of f) must be in (0, 1], got {self.jfb_beta}")
        object.__setattr__(self, "solver_options", solver_options(self.solver, self.solver_options, "solver_options"))
        backward_solver = self.solver if self.backward_solver is None else self.backward_solver
        object.__setattr__(
            self,
            "backward_solver_options",
            solver_options(backward_solver, self.backward_solver_options, "backward_solver_options"),
        )

    def iterations(self, training: bool) -> int:
        """Forward iteration limit in training (``max_iter``) or evaluation mode (``eval_max_iter``)."""
        return self.max_iter if training or self.eval_max_iter is None else self.eval_max_iter

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The :func:`torch.autocast` context of ``forward_autocast`` on ``device`` (a no-op when ``None``)."""
        dtype = AUTOCAST_DTYPES[self.forward_autocast]
        return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)

    def replace(self, **changes: Any) -> SolverConfig:
        """A copy with ``changes`` applied (an unknown field is a ``TypeError`` listing the fields)."""
        _check_fields(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (for weight files); solvers must be given by registered name."""
        out = dataclasses.asdict(self)
        for key in ("solver", "backward_solver"):
            if callable(out[key]):
                raise TypeError(f"SolverConfig.to_dict: {key} is a function; only registered solver names can be stored")
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverConfig:
        """The configuration stored by :meth:`to_dict` (an unknown key is a ``TypeError``)."""
        _check_fields(data)
        return cls(**data)

    @classmethod
    def coerce(cls, value: SolverConfig | Mapping[str, Any] | None, **changes: Any) -> SolverConfig:
        """``value`` (a config, a dictionary of fields, or ``None`` for the defaults) with ``changes`` applied."""
        config = value if isinstance(value, SolverConfig) else cls.from_dict(value or {})
        return config.replace(**changes) if changes else config


def _check_fields(data: Mapping[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(SolverConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise TypeError(f"unknown solver setting(s) {unknown}; SolverConfig has {sorted(known)}")
