"""Nesterov-accelerated fixed-point iteration (Hu et al.'s "Nesterov acceleration" of the forward pass).

The relaxed step ``x_{k+1} = (1 - beta) y_k + beta f(y_k)`` is taken from an extrapolated point

    y_{k+1} = x_{k+1} + ((t_k - 1) / t_{k+1}) (x_{k+1} - x_k),      t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,

Nesterov's momentum sequence (FISTA, Beck & Teboulle 2009). When ``f`` is a gradient step
``x - eta grad h(x)`` on a smooth convex ``h`` (a symmetric Jacobian, as in SD-RED and PnP-PGM with a
symmetric denoiser Jacobian) this is Nesterov's accelerated gradient method: a symmetric linear map with
eigenvalues in ``[0, rho]`` needs about ``1/sqrt(1 - rho)`` instead of ``1/(1 - rho)`` iterations.

Momentum can overshoot on maps with a rotational (complex) spectrum, so the iteration is safeguarded: a
sample whose absolute residual ``||f(y) - y||`` exceeds the smallest one seen so far restarts its momentum
(``t = 1``) from the relaxed plain step of its best point, ``(1 - beta) y_best + beta f(y_best)`` (no extra
map evaluation). For a contraction every such restart is a plain Krasnosel'skii-Mann step from the best
point, so the residual still decreases geometrically (an adaptive restart in the spirit of O'Donoghue &
Candes 2015). Memory: five copies of ``z``, independent of ``max_iter``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from deq.core.batched import batch_norm2, per_sample
from deq.core.solvers._tracker import SolverInfo, Tracker, check_beta, check_max_iter


def nesterov(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    beta: float = 1.0,
    divergence_ratio: float = 100.0,
) -> tuple[Tensor, SolverInfo]:
    """Solve ``z = g(z)`` with safeguarded Nesterov-accelerated (relaxed) fixed-point iteration, per sample.

    Args:
        g: the map, ``[B, ...] -> [B, ...]``.
        z0: starting point ``[B, ...]`` (real or complex).
        tol, max_iter, stop_mode, divergence_ratio: as in :func:`deq.core.solvers.fixed_point`.
        beta: relaxation, the weight of ``g(y)`` in ``(0, 1]``.

    Returns:
        ``(z, info)``: the best iterate per sample and a :class:`SolverInfo`.
    """
    check_max_iter("nesterov", max_iter)
    check_beta("nesterov", beta)
    tracker = Tracker("nesterov", z0, tol, stop_mode, divergence_ratio)
    real = z0.real.dtype if z0.is_complex() else z0.dtype
    t = torch.ones(z0.shape[0], dtype=real, device=z0.device)
    best = torch.full_like(t, float("inf"))
    best_step = z0  # the relaxed plain step from the best point so far
    x_prev, y = z0, z0
    for _ in range(max_iter):
        fy = g(y)
        if not bool(tracker.observe(y, fy).any()):
            break
        x = fy if beta == 1.0 else (1.0 - beta) * y + beta * fy
        residual = batch_norm2(fy - y)
        improved = residual < best
        best = torch.where(improved, residual, best)
        best_step = torch.where(per_sample(improved, x), x, best_step)
        restart = residual > best
        t = torch.where(restart, torch.ones_like(t), t)
        x = torch.where(per_sample(restart, x), best_step, x)
        t_next = (1 + torch.sqrt(1 + 4 * t * t)) / 2
        momentum = per_sample((t - 1) / t_next, x).to(x.dtype)
        y = tracker.freeze(x + momentum * (x - x_prev))
        x_prev, t = x, t_next
    return tracker.finish()


__all__ = ["nesterov"]
