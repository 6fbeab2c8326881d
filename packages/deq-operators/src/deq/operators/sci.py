"""Video snapshot compressive imaging: the coded-aperture compressive temporal imaging (CACTI) model.

Zhao et al., "Deep equilibrium models for snapshot compressive imaging" (AAAI 2023), eq. (1):
``Y = sum_{t=1}^{T} M_t ⊙ X_t`` — ``T`` video frames ``X_t`` modulated by masks ``M_t`` and summed into
one snapshot. In vectorised form ``y = Phi x`` with ``Phi = [diag(M_1), ..., diag(M_T)]``, so
``Phi Phi^T = diag(sum_t M_t^2)`` is diagonal and the GAP projection of eq. (8),
``x + Phi^T (Phi Phi^T)^{-1} (y - Phi x)``, and the l2 proximal step are closed form.

Shapes: videos ``[B, C, T, H, W]`` (``C = 1`` for grayscale; the same mask acts on every channel),
snapshots ``[B, C, H, W]``; the mask is ``[T, H, W]`` (shared) or ``[B, T, H, W]`` (per sample), any real
values (binary or not).
"""

from __future__ import annotations

import torch
from torch import Tensor

from deq.core.operator import Capability, LinearOperator
from deq.operators.batching import as_float_tensor, inverse_gamma, like, match_batch


def _safe_inverse(d: Tensor) -> Tensor:
    """``1 / d`` where ``d > 0``, 0 elsewhere (pixels that no mask opens)."""
    positive = d > 0
    return torch.where(positive, 1.0 / torch.where(positive, d, torch.ones_like(d)), torch.zeros_like(d))


class CACTI(LinearOperator):
    """Video SCI forward model ``y = sum_t M_t ⊙ x_t`` (Zhao et al. 2023, eq. 1), adjoint ``x_t = M_t ⊙ y``.

    Capabilities: closed-form ``prox_l2``, ``project`` (the GAP projection, eq. 8) and ``initial_estimate``
    (``x_t = y / sum_t M_t``).

    Args:
        mask: ``[T, H, W]`` shared by the batch, or ``[B, T, H, W]`` one per sample; real (uint8/bool
            masks are converted to float). Stored as the buffer ``mask`` of shape ``[1 or B, 1, T, H, W]``.
    """

    capabilities = frozenset({Capability.CLOSED_FORM_PROX, Capability.PROJECTION, Capability.INITIAL_ESTIMATE})

    def __init__(self, mask: Tensor) -> None:
        m = as_float_tensor(mask, "mask", "CACTI")
        if m.dim() == 3:
            m = m.unsqueeze(0)
        if m.dim() != 4:
            raise ValueError(f"CACTI: mask must be [T, H, W] or [B, T, H, W], got shape {list(m.shape)}")
        t, h, w = m.shape[1:]
        super().__init__((None, t, h, w), (None, h, w), input_kind="real", output_kind="real")
        self.register_buffer("mask", m.unsqueeze(1))

    @property
    def frames(self) -> int:
        """Number of frames ``T`` compressed into one snapshot."""
        return self.mask.shape[2]

    def _mask_for(self, x: Tensor) -> Tensor:
        return like(match_batch(self.mask, x.shape[0], "mask", "CACTI"), x)

    def _forward(self, x: Tensor) -> Tensor:
        return (self._mask_for(x) * x).sum(dim=2)

    def _adjoint(self, y: Tensor) -> Tensor:
        return self._mask_for(y) * y.unsqueeze(2)

    def phi_phi_t(self, like_x: Tensor | None = None) -> Tensor:
        """The diagonal of ``Phi Phi^T``: ``sum_t M_t^2``, shape ``[1 or B, 1, H, W]`` (computed in the
        precision and on the device of ``like_x`` when given)."""
        mask = self.mask if like_x is None else self._mask_for(like_x)
        return (mask**2).sum(dim=2)

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        """Zhao et al. eq. (8): ``x + Phi^T ((y - Phi x) / (Phi Phi^T))``, the Euclidean projection of
        ``x [B, C, T, H, W]`` onto ``{x : Phi x = y}`` (``y [B, C, H, W]``); pixels never sampled keep ``x``."""
        if x.shape[1] != y.shape[1]:
            raise ValueError(f"CACTI.project: x has {x.shape[1]} channels but y has {y.shape[1]}; expected equal")
        return x + self.adjoint(_safe_inverse(self.phi_phi_t(x)) * (y - self(x)))

    def gap_projection(self, x: Tensor, y: Tensor) -> Tensor:
        """The paper's name (Zhao et al. eq. 8) for :meth:`project`."""
        return self.project(x, y)

    def _initial_estimate(self, y: Tensor) -> Tensor:
        """``x^(0)_t = y / sum_t M_t`` for every frame (0 where no mask is open): the temporally constant video
        with ``Phi x^(0) = y``, the normalised measurement SCI networks start from (BIRNAT, RevSCI)."""
        total = self._mask_for(y).sum(dim=2)  # [1 or B, 1, H, W]
        return (y * _safe_inverse(total)).unsqueeze(2).expand(-1, -1, self.frames, -1, -1).contiguous()

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form of ``argmin_x 1/2 ||Phi x - y||^2 + 1/(2 gamma) ||x - z||^2`` by Woodbury with the
        diagonal ``Phi Phi^T``: ``x = z + Phi^T ((y - Phi z) / (Phi Phi^T + 1/gamma))``.

        ``z`` is ``[B, C, T, H, W]``, ``y`` ``[B, C, H, W]``, ``gamma`` a positive scalar or ``[B]``; exact, so
        ``tol``/``max_iter`` (the CG options of the base class) are accepted and unused."""
        inv_gamma = inverse_gamma(gamma, y)
        d = self.phi_phi_t(z)
        return z + self.adjoint((y - self(z)) / (d + inv_gamma))
