"""Cheap operators for tests and examples: inpainting (a pixel mask) and denoising (the identity)."""

from __future__ import annotations

import torch
from torch import Tensor

from deq.core.operator import Capability, LinearOperator
from deq.operators.batching import as_float_tensor, inverse_gamma, like, match_batch


class Inpainting(LinearOperator):
    """``y = m ⊙ x`` with a real mask ``m`` (binary or weights); self-adjoint.

    Args:
        mask: per-sample shape ``[C, H, W]`` (a size-1 ``C`` broadcasts over channels) shared by the batch,
            or ``[B, C, H, W]`` with ``per_sample=True``. Any number of trailing dims works the same way.
        per_sample: the mask's first dimension is the batch.

    ``x`` and ``y`` are ``[B, C, H, W]``, real or complex. Capabilities: closed-form ``prox_l2`` and ``project``
    (``m ⊙ m`` is diagonal).
    """

    capabilities = frozenset({Capability.CLOSED_FORM_PROX, Capability.PROJECTION})

    def __init__(self, mask: Tensor, *, per_sample: bool = False) -> None:
        m = as_float_tensor(mask, "mask", "Inpainting")
        if not per_sample:
            m = m.unsqueeze(0)
        if m.dim() < 2:
            raise ValueError(f"Inpainting: mask must be at least [H] per sample, got shape {list(mask.shape)}")
        shape = tuple(None if d == 1 else d for d in m.shape[1:])
        super().__init__(shape, shape)
        self.register_buffer("mask", m)

    def _mask_for(self, x: Tensor) -> Tensor:
        return like(match_batch(self.mask, x.shape[0], "mask", "Inpainting"), x)

    def _forward(self, x: Tensor) -> Tensor:
        return self._mask_for(x) * x

    def _adjoint(self, y: Tensor) -> Tensor:
        return self._mask_for(y) * y

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form ``x = (m ⊙ y + z / gamma) / (m^2 + 1 / gamma)`` (exact; ``tol``/``max_iter`` unused)."""
        m, inv_gamma = self._mask_for(z), inverse_gamma(gamma, z)
        return (m * y + inv_gamma * z) / (m * m + inv_gamma)

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        """``y / m`` where ``m != 0``, ``x`` elsewhere: the closest ``x'`` to ``x`` with ``m ⊙ x' = y``."""
        m = self._mask_for(x)
        sampled = m != 0
        return torch.where(sampled, y / torch.where(sampled, m, torch.ones_like(m)), x)


class Denoising(LinearOperator):
    """The identity ``y = x`` (denoising), for any shape ``[B, ...]``, real or complex; closed-form ``prox_l2``,
    ``project(x, y) = y``."""

    capabilities = frozenset({Capability.CLOSED_FORM_PROX, Capability.PROJECTION})

    def __init__(self) -> None:
        super().__init__(None, None)

    def _forward(self, x: Tensor) -> Tensor:
        return x

    def _adjoint(self, y: Tensor) -> Tensor:
        return y

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form ``x = (y + z / gamma) / (1 + 1 / gamma)`` (exact; ``tol``/``max_iter`` unused)."""
        inv_gamma = inverse_gamma(gamma, z)
        return (y + inv_gamma * z) / (1 + inv_gamma)

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        if x.shape != y.shape:
            raise ValueError(f"Denoising.project: x is {list(x.shape)} but y is {list(y.shape)}; expected equal shapes")
        return y
