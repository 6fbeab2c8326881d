"""Plain and relaxed fixed-point (Picard / Krasnosel'skii-Mann) iteration.

``z_{k+1} = (1 - beta) z_k + beta f(z_k)``; ``beta = 1`` is the plain iteration. ``beta`` is the weight of the
map's value, the convention of every deq solver (Anderson's mixing ``beta``, Zhao et al. eq. 17, and the
phantom gradient's ``jfb_beta`` of :class:`~deq.core.deq.DEQ`).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from deq.core.solvers._tracker import SolverInfo, Tracker, check_beta, check_max_iter


def fixed_point(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    beta: float = 1.0,
    divergence_ratio: float = 100.0,
) -> tuple[Tensor, SolverInfo]:
    """Solve ``z = g(z)`` by (relaxed) fixed-point iteration, per sample.

    Args:
        g: the map, ``[B, ...] -> [B, ...]``.
        z0: starting point ``[B, ...]`` (real or complex).
        tol: stopping tolerance on the ``stop_mode`` residual.
        max_iter: maximum number of map evaluations.
        stop_mode: "rel" (``||g(z)-z|| / ||g(z)||``) or "abs" (``||g(z)-z||``).
        beta: relaxation, the weight of ``g(z)`` in ``(0, 1]``.
        divergence_ratio: a sample whose residual exceeds this multiple of its first residual diverged.

    Returns:
        ``(z, info)``: the best iterate per sample ``[B, ...]`` and a :class:`SolverInfo`.
    """
    check_max_iter("fixed_point", max_iter)
    check_beta("fixed_point", beta)
    tracker = Tracker("fixed_point", z0, tol, stop_mode, divergence_ratio)
    z = z0
    for _ in range(max_iter):
        fz = g(z)
        if not bool(tracker.observe(z, fz).any()):
            break
        z = tracker.freeze(fz if beta == 1.0 else (1.0 - beta) * z + beta * fz)
    return tracker.finish()


__all__ = ["fixed_point"]
