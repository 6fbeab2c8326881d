"""The GAP step shared by GAP-TV, PnP-GAP, DE-GAP and DE-RNN, and the plug-and-play loops built on it.

Generalized alternating projection (Liao, Li & Carin 2014; Yuan 2016) alternates the Euclidean
projection onto the measurement-consistent set (Zhao et al. eq. 8)

    v = x + Phi^T (Phi Phi^T)^{-1} (y - Phi x)                                         (8)

with a denoising step ``x = D(v)`` (eq. 9). For video SCI ``Phi Phi^T`` is diagonal (``sum_t M_t^2``), so
(8) is closed form: GAP takes any operator declaring the ``projection`` capability and calls its ``project``
(``deq.operators.sci.CACTI``). The accelerated variant of
Yuan (2016) feeds back the accumulated residual,

    y_acc <- y_acc + (y - Phi x),      v = x + Phi^T (Phi Phi^T)^{-1} (y_acc - Phi x),       (8')

which is what the classical GAP-TV and PnP-GAP results use. PnP-ADMM (eq. 4-7) replaces (8) by the
proximal step ``x = argmin 1/2||Phi x - y||^2 + 1/(2 gamma)||x - (v + u)||^2`` (the operator's closed-form
``prox_l2``) and keeps a dual variable ``u``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from deq.core.model import check_measurement_values
from deq.core.operator import Capability, LinearOperator

#: a denoising step ``D(v, sigma) -> x`` on videos ``[B, C, T, H, W]``
Denoise = Callable[[Tensor, float], Tensor]


def check_gap_operator(operator: LinearOperator) -> None:
    """GAP needs a ``LinearOperator`` declaring the ``projection`` (eq. 8, the gap_projection step) and
    ``initial_estimate`` capabilities, such as ``deq.operators.sci.CACTI``."""
    needed = (Capability.PROJECTION, Capability.INITIAL_ESTIMATE)
    if not isinstance(operator, LinearOperator) or not all(operator.supports(c) for c in needed):
        raise TypeError(
            f"GAP needs a LinearOperator with the capabilities 'projection' (the gap_projection step of eq. 8: "
            f"Phi Phi^T diagonal) and 'initial_estimate', such as deq.operators.sci.CACTI; got {type(operator).__name__}"
        )


def check_measurement(y: Tensor, operator: LinearOperator) -> None:
    """Raise a clear error unless ``y`` is a finite ``[B, C, H, W]`` matching the operator's ``[*, T, H, W]`` input
    (the operator's own methods check the rest, e.g. a per-sample mask against the batch)."""
    check_measurement_values(y, "SCI")
    if not y.is_floating_point():
        raise TypeError(f"SCI measurement must be a real floating-point tensor [B, C, H, W], got {getattr(y, 'dtype', type(y))}")
    if y.dim() != 4:
        raise ValueError(f"SCI measurement must be [B, C, H, W] (one snapshot per sample), got shape {list(y.shape)}")
    out, video = operator.out_shape, operator.in_shape
    if out is not None and tuple(y.shape[-2:]) != tuple(out[-2:]):
        frames = f" ({video[-3]} frames)" if video is not None and len(video) >= 3 else ""
        raise ValueError(
            f"SCI measurement is {tuple(y.shape[-2:])} (H, W) but the mask{frames} is {tuple(out[-2:])}; "
            f"mask and measurement must have the same height and width"
        )


def gap_step(operator: LinearOperator, x: Tensor, y: Tensor, y_acc: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """One GAP projection: (8) when ``y_acc`` is ``None``, the accelerated (8') otherwise.

    Args:
        operator: the SCI operator ``Phi`` (needs the ``projection`` capability).
        x: current video ``[B, C, T, H, W]``.
        y: measurement ``[B, C, H, W]``.
        y_acc: accumulated measurement of (8') (start with ``y``), or ``None``.

    Returns:
        ``(v, y_acc)``: the projected video and the updated accumulator (``None`` for plain GAP).
    """
    if y_acc is None:
        return operator.project(x, y), None
    y_acc = y_acc + (y - operator(x))
    return operator.project(x, y_acc), y_acc


def initial_estimate(operator: LinearOperator, y: Tensor) -> Tensor:
    """The operator's ``initial_estimate(y)``; for CACTI ``x^(0)_t = y / sum_t M_t`` for every frame ``t`` (0 where
    no mask is open): the temporally constant video consistent with the snapshot (``Phi x^(0) = y``), the
    normalised measurement that SCI networks (BIRNAT, RevSCI) start from. The paper's ``Phi^T y`` differs by a
    per-pixel scale and mask pattern; the equilibrium does not depend on the start when the map is contractive."""
    check_gap_operator(operator)
    return operator.initial_estimate(y)


def expand_schedule(sigmas: Sequence[float], iters: Sequence[int] | int) -> list[float]:
    """Per-iteration noise levels from ``sigmas`` held for ``iters`` iterations each (decreasing schedule)."""
    counts = [iters] * len(sigmas) if isinstance(iters, int) else list(iters)
    if len(counts) != len(sigmas) or any(c < 0 for c in counts):
        raise ValueError(f"schedule: need one non-negative iteration count per sigma, got sigmas={list(sigmas)}, iters={counts}")
    return [float(s) for s, c in zip(sigmas, counts) for _ in range(c)]


@torch.no_grad()
def pnp_gap(
    operator: LinearOperator,
    y: Tensor,
    denoise: Denoise,
    schedule: Sequence[float],
    *,
    accelerate: bool = True,
    x0: Tensor | None = None,
    callback: Callable[[int, Tensor], None] | None = None,
) -> Tensor:
    """Plug-and-play GAP (eq. 8-9): ``v = GAP(x)``, ``x = D(v, sigma_k)`` for each ``sigma_k`` of ``schedule``.

    ``y`` is ``[B, C, H, W]``; returns the video ``[B, C, T, H, W]``. ``callback(k, x)`` sees every iterate.
    """
    check_gap_operator(operator)
    check_measurement(y, operator)
    x = initial_estimate(operator, y) if x0 is None else x0
    y_acc = y.clone() if accelerate else None
    for k, sigma in enumerate(schedule):
        v, y_acc = gap_step(operator, x, y, y_acc)
        x = denoise(v, sigma)
        if callback is not None:
            callback(k, x)
    return x


@torch.no_grad()
def pnp_admm(
    operator: LinearOperator,
    y: Tensor,
    denoise: Denoise,
    schedule: Sequence[float],
    *,
    gamma: float = 0.01,
    x0: Tensor | None = None,
    callback: Callable[[int, Tensor], None] | None = None,
) -> Tensor:
    """Plug-and-play ADMM (eq. 4-7): ``x = prox_{gamma f}(v + u)``, ``v = D(x - u, sigma_k)``, ``u <- u - (x - v)``.

    ``gamma`` weighs the data term; ``callback(k, v)`` sees every denoised iterate, which is returned.
    """
    check_gap_operator(operator)
    check_measurement(y, operator)
    v = initial_estimate(operator, y) if x0 is None else x0
    u = torch.zeros_like(v)
    for k, sigma in enumerate(schedule):
        x = operator.prox_l2(v + u, y, 1.0 / gamma)
        v = denoise(x - u, sigma)
        u = u - (x - v)
        if callback is not None:
            callback(k, v)
    return v
