"""Sparse-coding dictionary operators (Gkillas et al., eq. 5-6): ``Y = D G`` with a dictionary
``D in R^{d x M}`` (``M`` atoms of dimension ``d``) acting on code matrices ``G in R^{M x N}``
(``N`` signals, e.g. the pixels of a hyperspectral block with ``d`` bands).

:class:`Dictionary` uses every atom. The HQS data step of eq. (10a), ``G = argmin 1/2 ||D G - Y||^2 +
1/(2 gamma) ||G - Z||^2 = (D^T D + I/gamma)^{-1} (D^T Y + Z/gamma)``, is :meth:`Dictionary.prox_l2`; for a
Python-float ``gamma`` its Cholesky factorisation is cached (on the smaller of ``D^T D`` (M x M) and, by
Woodbury, ``D D^T`` (d x d)); a tensor ``gamma`` (learnable, or per sample) is solved directly, in the graph.

:class:`SupportDictionary` is the reduced operator of the fast method (Section V): one support ``S`` of
``s`` atoms per block (per sample), ``Y = D_S G_S``, with the batched least-squares update of eq. (30),
``G_S = ((1 + b) D_S^T D_S)^{-1} (D_S^T Y + b D_S^T Z)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from deq.core.operator import Capability, LinearOperator, check_shape
from deq.operators.batching import as_float_tensor, inverse_gamma, like, match_batch

_CACHE_SIZE = 8


def _as_dictionary(D: Tensor, owner: str) -> Tensor:
    d = as_float_tensor(D, "D", owner)
    if d.dim() != 2:
        raise ValueError(f"{owner}: D must be a [d, M] matrix, got shape {list(D.shape)}")
    return d


class Dictionary(LinearOperator):
    """``Y = D G``: codes ``G [B, M, N]`` -> signals ``Y [B, d, N]`` (real; ``N`` free). Closed-form ``prox_l2``.

    Args:
        D: dictionary ``[d, M]`` (buffer ``D``).
    """

    capabilities = frozenset({Capability.CLOSED_FORM_PROX})

    def __init__(self, D: Tensor) -> None:
        d = _as_dictionary(D, "Dictionary")
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
            d = like(self.D, like_x).detach()
            gram = d.T @ d if d.shape[1] <= d.shape[0] else d @ d.T
            factor = torch.linalg.cholesky(gram + inv_gamma * torch.eye(gram.shape[0], dtype=d.dtype, device=d.device))
            if len(self._factors) >= _CACHE_SIZE:
                self._factors.pop(next(iter(self._factors)))
            self._factors[key] = factor
        return factor

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """Closed form ``(D^T D + I/gamma)^{-1} (D^T y + z/gamma)`` (Gkillas et al. eq. 10a), ``z [B, M, N]``,
        ``y [B, d, N]``. A Python-float ``gamma`` uses the cached factorisation (``inf``, no proximal term, needs
        ``M <= d``); a tensor ``gamma`` (0-d or ``[B]``, e.g. a learnable ``1/b``) is solved directly so that
        gradients reach it. Exact, so ``tol``/``max_iter`` are unused."""
        d = like(self.D, z)
        inv_gamma = inverse_gamma(gamma, z, allow_inf=True)  # checks positivity; a float, a 0-d tensor or [B, 1, 1]
        rhs = d.T @ y + inv_gamma * z
        if isinstance(inv_gamma, Tensor) or d.requires_grad:
            eye = torch.eye(d.shape[1], dtype=d.dtype, device=d.device)
            return torch.linalg.solve(d.T @ d + inv_gamma * eye, rhs)
        if inv_gamma == 0.0 and d.shape[1] > d.shape[0]:
            raise ValueError(
                f"Dictionary.prox_l2: gamma=inf (no proximal term) needs D^T D invertible, i.e. at most d={d.shape[0]} "
                f"atoms; this dictionary has M={d.shape[1]}"
            )
        factor = self._cholesky(inv_gamma, z)
        if d.shape[1] <= d.shape[0]:
            return torch.cholesky_solve(rhs, factor)
        # Woodbury: (D^T D + a I)^{-1} r = (r - D^T (D D^T + a I)^{-1} D r) / a
        return (rhs - d.T @ torch.cholesky_solve(d @ rhs, factor)) / inv_gamma


class SupportDictionary(LinearOperator):
    """``Y = D_S G_S`` with one support ``S`` of ``s`` atoms per sample (block): codes ``G_S [B, s, N]`` ->
    signals ``Y [B, d, N]`` (real; ``N`` free), where ``D_S [B, d, s]`` gathers the atoms ``support[b]`` of
    ``D [d, M]`` (Gkillas et al., Section V, eq. 27-30). Closed-form, batched ``prox_l2`` and
    :meth:`least_squares` (eq. 30).

    Args:
        D: dictionary ``[d, M]`` (buffer ``D``).
        support: atom indices ``[B, s]`` (one support per sample) or ``[s]`` (shared), in ``[0, M)``; buffer
            ``support`` ``[1 or B, s]``. The fast update needs ``s <= d`` atoms that are linearly independent.
    """

    capabilities = frozenset({Capability.CLOSED_FORM_PROX})

    def __init__(self, D: Tensor, support: Tensor | Sequence[int] | Sequence[Sequence[int]]) -> None:
        d = _as_dictionary(D, "SupportDictionary")
        s = torch.as_tensor(support)
        if s.is_floating_point() or s.is_complex() or s.dtype == torch.bool:
            raise TypeError(f"SupportDictionary: support must hold integer atom indices, got {s.dtype}")
        s = s.to(torch.long)
        s = s.unsqueeze(0) if s.dim() == 1 else s
        if s.dim() != 2 or s.shape[1] < 1:
            raise ValueError(f"SupportDictionary: support must be [B, s] or [s] atom indices, got shape {list(s.shape)}")
        atoms = d.shape[1]
        if bool(((s < 0) | (s >= atoms)).any()):
            raise IndexError(f"SupportDictionary: support indices must lie in [0, {atoms}) for a dictionary of {atoms} atoms")
        super().__init__((s.shape[1], None), (d.shape[0], None), input_kind="real", output_kind="real")
        self.register_buffer("D", d)
        self.register_buffer("support", s.clone())

    def atoms(self, like_x: Tensor | None = None) -> Tensor:
        """``D_S``: the gathered atoms ``[1 or B, d, s]`` (in ``like_x``'s precision and device when given)."""
        d = self.D if like_x is None else like(self.D, like_x)
        return d[:, self.support].permute(1, 0, 2)

    def _atoms_for(self, x: Tensor) -> Tensor:
        match_batch(self.support, x.shape[0], "support", "SupportDictionary")
        return self.atoms(x)

    def _forward(self, x: Tensor) -> Tensor:
        return self._atoms_for(x) @ x

    def _adjoint(self, y: Tensor) -> Tensor:
        return self._atoms_for(y).transpose(1, 2) @ y

    def _solve(self, ds: Tensor, inv_gamma: float | Tensor, rhs: Tensor) -> Tensor:
        """``(D_S^T D_S + inv_gamma I)^{-1} rhs`` per sample, by batched Cholesky."""
        gram = ds.transpose(1, 2) @ ds + inv_gamma * torch.eye(ds.shape[2], dtype=ds.dtype, device=ds.device)
        factor, info = torch.linalg.cholesky_ex(gram)
        if bool((info > 0).any()):
            bad = [int(i) for i in (info > 0).nonzero().flatten()[:5]]
            raise ValueError(
                f"SupportDictionary: D_S^T D_S is singular for sample(s) {bad}; without a proximal term (gamma=inf) the "
                f"{ds.shape[2]} atoms of each support must be linearly independent (at most d={ds.shape[1]})"
            )
        return torch.cholesky_solve(rhs, factor)

    def prox_l2(
        self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float | None = None, max_iter: int | None = None
    ) -> Tensor:
        """``argmin_G 1/2 ||D_S G - y||^2 + 1/(2 gamma) ||G - z||^2 = (D_S^T D_S + I/gamma)^{-1} (D_S^T y + z/gamma)``,
        batched over the per-sample supports; ``z [B, s, N]``, ``y [B, d, N]``, ``gamma`` a positive float, a 0-d
        or ``[B]`` tensor (differentiable), or ``inf``: the least-squares fit ``(D_S^T D_S)^{-1} D_S^T y``.
        Exact, so ``tol``/``max_iter`` are unused."""
        check_shape(z, self.in_shape, "SupportDictionary.prox_l2 z", "real")
        check_shape(y, self.out_shape, "SupportDictionary.prox_l2 y", "real")
        ds = self._atoms_for(z)
        inv_gamma = inverse_gamma(gamma, z, allow_inf=True)
        return self._solve(ds, inv_gamma, ds.transpose(1, 2) @ y + inv_gamma * z)

    def least_squares(self, y: Tensor, z: Tensor | None = None, b: float | Tensor = 0.0) -> Tensor:
        """Gkillas et al. eq. (30): ``G_S = ((1 + b) D_S^T D_S)^{-1} (D_S^T Y + b D_S^T Z)``
        ``= argmin_G 1/2 ||D_S G - Y||^2 + b/2 ||D_S G - Z||^2``, the fast HQS update.

        ``y``, ``z``: ``[B, d, N]`` (signal space); ``b >= 0`` a float, 0-d or ``[B]`` tensor (learnable: the
        gradient reaches it); ``z=None`` is the plain least-squares fit ``(D_S^T D_S)^{-1} D_S^T y``. Returns
        ``G_S [B, s, N]``; needs ``s <= d`` linearly independent atoms per support."""
        check_shape(y, self.out_shape, "SupportDictionary.least_squares y", "real")
        target = y
        if z is not None:
            check_shape(z, self.out_shape, "SupportDictionary.least_squares z", "real")
            if isinstance(b, Tensor):
                b = b.reshape(-1, 1, 1) if b.dim() == 1 else b
                if bool((b < 0).any()):
                    raise ValueError("SupportDictionary.least_squares: b must be >= 0")
            elif b < 0:
                raise ValueError(f"SupportDictionary.least_squares: b must be >= 0, got {b}")
            target = (y + b * z) / (1 + b)
        ds = self._atoms_for(target)
        return self._solve(ds, 0.0, ds.transpose(1, 2) @ target)
