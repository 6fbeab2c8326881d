"""What every fixed-point solver shares: residuals, per-sample stopping, best-iterate tracking,
divergence detection and the :class:`SolverInfo` statistics object."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

from deq.core.batched import batch_norm2, per_sample

STOP_MODES = ("abs", "rel")


class SolverDivergenceWarning(RuntimeWarning):
    """Some samples diverged (non-finite or growing residual); their best iterate was returned."""


class SolverNotConvergedWarning(RuntimeWarning):
    """Some samples stopped at ``max_iter`` above the tolerance without diverging (raised by ``DEQ``, once per
    solve; silence it with ``warn_unconverged=False`` or ``warnings.filterwarnings``)."""


@dataclass
class SolverInfo:
    """Statistics of one batched solve. ``B`` is the batch size, ``K`` the number of iterations run.

    Attributes:
        nstep: ``[B]`` long — map evaluations each sample used before it stopped (converged, diverged,
            or ``max_iter``).
        residual: ``[B]`` — residual (in ``stop_mode``) of the returned (best) iterate.
        abs_residual: ``[B]`` — ``||f(z) - z||`` of the returned iterate.
        rel_residual: ``[B]`` — ``||f(z) - z|| / ||f(z)||`` of the returned iterate.
        converged: ``[B]`` bool — residual reached ``tol``.
        diverged: ``[B]`` bool — residual became NaN/Inf or grew past ``divergence_ratio`` times its start.
        trace: ``[B, K]`` — residual (in ``stop_mode``) of the iterate at each step.
        stop_mode: "abs" or "rel".
        tol: the tolerance used.
        backward: for a ``DEQ`` forward solve with the ``"ift"`` backward, the statistics of the adjoint solve,
            filled in when the backward pass runs (``None`` before, and for other solves).
    """

    nstep: Tensor
    residual: Tensor
    abs_residual: Tensor
    rel_residual: Tensor
    converged: Tensor
    diverged: Tensor
    trace: Tensor
    stop_mode: str
    tol: float
    backward: SolverInfo | None = None

    @property
    def unconverged(self) -> Tensor:
        """``[B]`` bool: samples that neither converged nor diverged (stopped at ``max_iter``)."""
        return ~(self.converged | self.diverged)

    @property
    def all_converged(self) -> bool:
        """True when every sample converged."""
        return bool(self.converged.all())

    def summary(self) -> str:
        """One line: iterations, worst residual, converged and diverged counts."""
        b = self.nstep.numel()
        return (
            f"iterations max {int(self.nstep.max())}, {self.stop_mode} residual max "
            f"{float(self.residual.max()):.2e} (tol {self.tol:.0e}), converged {int(self.converged.sum())}/{b}, "
            f"diverged {int(self.diverged.sum())}/{b}"
        )


class Tracker:
    """Per-sample bookkeeping of a fixed-point iteration ``z -> f(z)``.

    Call :meth:`observe` with each iterate ``z_k`` and its image ``f(z_k)``; it returns the mask of samples
    still active. The best iterate (lowest residual) of every sample is kept without Python loops.
    """

    def __init__(self, name: str, z0: Tensor, tol: float, stop_mode: str, divergence_ratio: float) -> None:
        if stop_mode not in STOP_MODES:
            raise ValueError(f"{name}: stop_mode must be one of {STOP_MODES}, got {stop_mode!r}")
        if tol <= 0:
            raise ValueError(f"{name}: tol must be positive, got {tol}")
        if z0.dim() < 1 or z0.shape[0] == 0:
            raise ValueError(f"{name}: z0 must have a leading batch dimension [B, ...], got shape {list(z0.shape)}")
        self.name = name
        self.tol = tol
        self.stop_mode = stop_mode
        self.divergence_ratio = divergence_ratio
        b = z0.shape[0]
        real = z0.real.dtype if z0.is_complex() else z0.dtype
        self.best_z = z0.clone()
        inf = torch.full((b,), float("inf"), dtype=real, device=z0.device)
        self.best_res = inf.clone()
        self.best_abs = inf.clone()
        self.best_rel = inf.clone()
        self.first_abs: Tensor | None = None
        self.active = torch.ones(b, dtype=torch.bool, device=z0.device)
        self.converged = torch.zeros(b, dtype=torch.bool, device=z0.device)
        self.diverged = torch.zeros(b, dtype=torch.bool, device=z0.device)
        self.nstep = torch.zeros(b, dtype=torch.long, device=z0.device)
        self.trace: list[Tensor] = []

    def observe(self, z: Tensor, fz: Tensor) -> Tensor:
        """Record iterate ``z`` with image ``fz``; returns the ``[B]`` mask of samples still iterating.

        Raises ``ValueError`` when the map returned a tensor of another shape than its input (a starting point
        ``z0`` whose shape differs from ``f(z0)``)."""
        if fz.shape != z.shape:
            raise ValueError(
                f"{self.name}: the map returned shape {list(fz.shape)} for an iterate of shape {list(z.shape)}; "
                f"a fixed-point map must return its input's shape, so z0 must have the shape of f(z0)"
            )
        abs_res = batch_norm2(fz - z)
        rel_res = abs_res / (batch_norm2(fz) + 1e-12)
        res = rel_res if self.stop_mode == "rel" else abs_res
        self.trace.append(res.detach())
        self.nstep += self.active.long()
        if self.first_abs is None:
            self.first_abs = abs_res.clone()
        bad = ~torch.isfinite(res) | (abs_res > self.divergence_ratio * self.first_abs)
        improved = self.active & torch.isfinite(res) & (res < self.best_res)
        self.best_z = torch.where(per_sample(improved, z), z, self.best_z)
        self.best_res = torch.where(improved, res, self.best_res)
        self.best_abs = torch.where(improved, abs_res, self.best_abs)
        self.best_rel = torch.where(improved, rel_res, self.best_rel)
        self.diverged |= self.active & bad
        self.converged |= self.active & ~bad & (res <= self.tol)
        self.active &= ~(self.converged | self.diverged)
        return self.active

    def freeze(self, z_new: Tensor) -> Tensor:
        """Keep stopped samples at their best iterate (so they stop changing and stay finite)."""
        return torch.where(per_sample(self.active, z_new), z_new, self.best_z)

    def finish(self) -> tuple[Tensor, SolverInfo]:
        """The best iterate per sample and the statistics; warns when samples diverged."""
        if bool(self.diverged.any()):
            idx = torch.nonzero(self.diverged).flatten().tolist()
            warnings.warn(
                f"{self.name}: {len(idx)} of {self.nstep.numel()} samples diverged (indices {idx}): residual "
                f"became non-finite or grew more than {self.divergence_ratio:g}x its initial value; their best "
                f"iterate is returned and info.diverged is set. Check that the map is contractive.",
                SolverDivergenceWarning,
                stacklevel=3,
            )
        info = SolverInfo(
            nstep=self.nstep,
            residual=self.best_res,
            abs_residual=self.best_abs,
            rel_residual=self.best_rel,
            converged=self.converged,
            diverged=self.diverged,
            trace=torch.stack(self.trace, dim=1) if self.trace else self.best_res[:, None],
            stop_mode=self.stop_mode,
            tol=self.tol,
        )
        return self.best_z, info


def check_max_iter(name: str, max_iter: int) -> None:
    """Raise unless ``max_iter`` is a positive integer."""
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"{name}: max_iter must be a positive integer, got {max_iter!r}")


def check_beta(name: str, beta: float) -> None:
    """Raise unless the relaxation ``beta`` (weight of the map's value) lies in ``(0, 1]``."""
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"{name}: beta (the weight of f(z) in the update) must be in (0, 1], got {beta}")
