"""Loop unrolling with a learned proximal step (LUSER sec. 2.1 and 3, eq. 5 and 7): ``K`` stages

    d_k     = x_k + lambda A^T (y - A x_k)                                              (gradient step)
    x_{k+1} = P_k(d_k)                                                                  (learned prox)

from ``x_0`` (``A^T y``, or ``y`` for deblurring), trained end to end through all stages (autograd keeps every
stage's activations: the memory LUSER sets out to save). The same class holds

* **LU-DnCNN**: ``P_k = P`` a 17-layer DnCNN (64 channels, BN, ReLU), shared by the ``K = 8`` stages;
* **LUSER-SW / LUSER-DW** (eq. 7, Fig. 1): ``P_k`` the shallow equilibrium block
  (:class:`deq.priors.shallow_eq.ShallowEquilibrium`: ``x_{k+1} = d_k + Mix(Data(r*) (+) Inj(d_k))``,
  ``r^(0) = 0``, Anderson, implicit gradient), one block shared by every stage (SW) or one per stage (DW).

The stages are not an equilibrium, so this is a plain module rather than deq-core's ``EquilibriumModel``
(LUSER-DW has a different map per stage). Batch norm (LU-DnCNN's) runs on frozen statistics in training as in
evaluation (:func:`deq.core.solve_scope.frozen_batchnorm`), the deq policy for batch norm in an equilibrium map,
here for a different reason: one shared DnCNN sees eight stages whose inputs differ, and with batch statistics
at training (batch 2) and one running average at test the trained LU-DnCNN fell 2-15 dB below its own batch-
statistics output (measured on the first 16 test images: deblurring 19.9 vs 21.8 dB, MRI 4x 6.2 vs 21.6 dB).
The statistics are learned before the end-to-end training, by the recipe's ``--pretrain-steps`` on the DnCNN
alone, as for DEQ4IP; a reconstruction then depends on its own measurement only, not on the rest of the batch.
Each shallow block's own solve runs inside :func:`deq.core.solve_scope.solve_scope`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from deq.core.modes import eval_mode
from deq.core.operator import LinearOperator
from deq.core.solve_scope import frozen_batchnorm
from deq.models.luser.step import DataStep


@dataclass
class UnrolledInfo:
    """Statistics of one unrolled pass: ``inner_iterations [K, B]`` (solver iterations of each stage's
    equilibrium block per sample; ``None`` for feed-forward prox networks) and ``inner_converged [K, B]``."""

    inner_iterations: Tensor | None = None
    inner_converged: Tensor | None = None


class LoopUnrolled(nn.Module):
    """``K`` proximal-gradient stages with learned prox networks (see the module docstring).

    Args:
        prox: one network (shared by every stage) or a sequence of ``stages`` networks, each ``[B, C, H, W] ->
            [B, C, H, W]``.
        step: the data-consistency stage (learnable ``lambda``, start ``x_0``).
        stages: ``K``.
    """

    def __init__(self, prox: nn.Module | Sequence[nn.Module], step: DataStep, stages: int = 8) -> None:
        super().__init__()
        if not isinstance(stages, int) or stages < 1:
            raise ValueError(f"LoopUnrolled: stages must be a positive integer, got {stages!r}")
        blocks = [prox] if isinstance(prox, nn.Module) else list(prox)
        if len(blocks) not in (1, stages):
            raise ValueError(f"LoopUnrolled: give one shared prox network or one per stage ({stages}), got {len(blocks)}")
        self.step, self.stages = step, stages
        self.prox = nn.ModuleList(blocks)

    @property
    def shared(self) -> bool:
        """Whether one prox network serves every stage."""
        return len(self.prox) == 1

    def forward(
        self, y: Tensor, operator: LinearOperator, *, return_all: bool = False
    ) -> tuple[Tensor | list[Tensor], UnrolledInfo]:
        """The reconstruction ``x_K [B, C, H, W]`` (or with ``return_all`` the list ``[x_1, ..., x_K]``, for the
        auxiliary loss on every stage) and the :class:`UnrolledInfo`; with a graph when gradients are enabled."""
        self.step.check(y, operator, type(self).__name__)
        x = self.step.initial(y, operator)
        iterates, iters, converged = [], [], []
        with frozen_batchnorm(self):
            for k in range(self.stages):
                block = self.prox[0 if self.shared else k]
                x = block(self.step(x, y, operator))
                info = getattr(block, "last_info", None)
                if info is not None:
                    iters.append(info.nstep)
                    converged.append(info.converged)
                if return_all:
                    iterates.append(x)
        stats = UnrolledInfo(torch.stack(iters), torch.stack(converged)) if iters else UnrolledInfo()
        return (iterates if return_all else x), stats

    @torch.no_grad()
    def reconstruct(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """``x_K`` in eval mode, without a graph."""
        with eval_mode(self):
            return self(y, operator)[0]
