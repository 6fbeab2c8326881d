"""Sparse-coding dictionary operator (Gkillas et al., eq. 5-6): ``Y = D G`` with a dictionary
``D in R^{d x M}`` (``M`` atoms of dimension ``d``) acting on code matrices ``G in R^{M x N}``
(``N`` signals, e.g. the pixels of a hyperspectral cube with ``d`` bands).

The HQS data step of eq. (10a)/(30), ``G = argmin 1/2 ||D G - Y||^2 + 1/(2 gamma) ||G - Z||^2
= (D^T D + I/gamma)^{-1} (D^T Y + Z/gamma)``, is :meth:`Dictionary.prox_l2`; its Cholesky factorisation is
cached per ``gamma`` (on the smaller of ``D^T D`` (M x M) and, by Woodbury, ``D D^T`` (d x d)).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from deq.core.operator import LinearOperator
from deq.operators.batching import as_float_tensor, inverse_gamma, like

_CACHE_SIZE = 8


class Dictionary(LinearOperator):
    """``Y = D G``: codes ``G [B, M, N]`` -> signals ``Y [B, d, N]`` (real; ``N`` free).

    Args:
        D: dictionary ``[d, M]`` (buffer ``D``).
    """

    def __init__(self, D: Tensor) -> None:
        d = as_float_tensor(D, "D", "Dictionary")
        if d.dim() != 2:
            raise ValueError(f"Dictionary: D must be a [d, M] matrix, got shape {list(D.shape)}")
        super().__init__((d.shape[1], None), (d.shape[0], None), input_kind="real", output_kind="real")
        self.register_buffer("D", d)
        self._factors: dict[tuple, Tensor] = {}

    def subset(self, columns: Sequence[int] | Tensor) -> Dictionary:
        """The sub-dictionary ``D_S`` of the atoms (columns) ``S``."""
        cols = torch.as_tensor(columns, dtype=torch.long, device=self.D.device)
        if cols.numel() and (int(cols.min()) < -self.D.shape[1] or int(cols.max()) >= self.D.shape[1]):
            raise IndexError(f"Dictionary.subset: column index out of range for a dictionary of {self.D.shape[1]} atoms")
        return Dictionary(self.D[:, cols])

    def _forward(self, x: Tensor) -> Tensor:
        return like(self.D, x) @ x

    def _adjoint(self, y: Tensor) -> Tensor:
        return like(self.D, y).T @ y

    def _cholesky(self, inv_gamma: float, like_x: Tensor) -> Tensor:
        """Cached lower Cholesky factor of ``D^T D + I/gamma`` (M <= d) or ``D D^T + I/gamma`` (M > d)."""
        key = (inv_gamma, like_x.dtype, like_x.device, self.D._version, self.D.data_ptr())
        factor = self._factors.get(key)
        if factor is None:
            d = like(self.D, like_x)
            gram = d.T @ d if d.shape[1] <= d.shape[0] else d @ d.T
            factor = torch.linalg.cholesky(gram + inv_gamma * torch.eye(gram.shape[0], dtype=d.dtype, device=d.device))
            if len(self._factors) >= _CACHE_SIZE:
                self._factors.pop(next(iter(self._factors)))
            self._factors[key] = factor
        return factor

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form ``(D^T D + I/gamma)^{-1} (D^T y + z/gamma)`` (Gkillas et al. eq. 10a/30), ``z [B, M, N]``,
        ``y [B, d, N]``; a scalar ``gamma`` uses the cached factorisation, a per-sample ``[B]`` one solves each
        sample's system. Exact, so ``tol``/``max_iter`` are unused."""
        d = like(self.D, z)
        inv_gamma = inverse_gamma(gamma, z)  # checks positivity; a float or [B, 1, 1]
        rhs = d.T @ y + inv_gamma * z
        if isinstance(inv_gamma, Tensor) and inv_gamma.numel() > 1:
            eye = torch.eye(d.shape[1], dtype=d.dtype, device=d.device)
            return torch.linalg.solve(d.T @ d + inv_gamma.to(d.dtype) * eye, rhs)
        a = float(inv_gamma)
        factor = self._cholesky(a, z)
        if d.shape[1] <= d.shape[0]:
            return torch.cholesky_solve(rhs, factor)
        # Woodbury: (D^T D + a I)^{-1} r = (r - D^T (D D^T + a I)^{-1} D r) / a
        return (rhs - d.T @ torch.cholesky_solve(d @ rhs, factor)) / a
