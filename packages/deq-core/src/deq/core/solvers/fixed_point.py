"""Plain and damped fixed-point (Picard / Krasnosel'skii-Mann) iteration.

``z_{k+1} = (1 - damping) f(z_k) + damping z_k``; ``damping = 0`` is the plain iteration.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from deq.core.solvers._tracker import SolverInfo, Tracker, check_max_iter


def fixed_point(
    g: Callable[[Tensor], Tensor],
    z0: Tensor,
    *,
    tol: float = 1e-5,
    max_iter: int = 50,
    stop_mode: str = "rel",
    damping: float = 0.0,
    divergence_ratio: float = 100.0,
) -> tuple[Tensor, SolverInfo]:
    """Solve ``z = g(z)`` by (damped) fixed-point iteration, per sample.

    Args:
        g: the map, ``[B, ...] -> [B, ...]``.
        z0: starting point ``[B, ...]`` (real or complex).
        tol: stopping tolerance on the ``stop_mode`` residual.
        max_iter: maximum number of map evaluations.
        stop_mode: "rel" (``||g(z)-z|| / ||g(z)||``) or "abs" (``||g(z)-z||``).
        damping: weight of the previous iterate, in ``[0, 1)``.
        divergence_ratio: a sample whose residual exceeds this multiple of its first residual diverged.

    Returns:
        ``(z, info)``: the best iterate per sample ``[B, ...]`` and a :class:`SolverInfo`.
    """
    check_max_iter("fixed_point", max_iter)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"fixed_point: damping must be in [0, 1), got {damping}")
    tracker = Tracker("fixed_point", z0, tol, stop_mode, divergence_ratio)
    z = z0
    for _ in range(max_iter):
        fz = g(z)
        if not bool(tracker.observe(z, fz).any()):
            break
        z = tracker.freeze((1.0 - damping) * fz + damping * z if damping else fz)
    return tracker.finish()


__all__ = ["fixed_point"]
