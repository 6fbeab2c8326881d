"""The half-quadratic-splitting updates of Gkillas et al. and the iteration maps built from them.

Full sparse coding (sec. IV): for a block ``Y [d, N]`` and dictionary ``D [d, M]``, HQS on the augmented
Lagrangian (8), ``1/2 ||Y - D G||^2 + mu ||V||_1 + lambda R(Z) + b/2 ||V - G||^2 + b/2 ||Z - D G||^2``, gives

    G+ = ((1 + b) D^T D + b I)^{-1} (D^T Y + b V + b D^T Z)                                   (10a, derived)
    V+ = soft(G+, mu / b)                                                                     (10b)
    Z+ = N_theta(D G+)          (the CNN in place of prox_{R/b}, 10c -> 11)

The paper prints the inverse in (10a) as ``(D^T D + b D^T D + I)^{-1}``; setting the gradient of (8) in ``G`` to
zero gives ``b I``, not ``I`` (tests/hsi/test_hqs.py checks :func:`full_data_step` against a direct minimisation
of (8)). With the thin SVD ``D = U diag(s) W`` (``W [d, M]`` orthonormal rows) the inverse is diagonal in the
range of ``D^T`` and ``1/b`` on its null space, which gives the closed form of :func:`full_data_step` at the cost
of three ``d x M`` products, with ``b`` differentiable. ``lambda`` appears in none of the updates (11), (14), (30),
(32): it is absorbed in the CNN, so no model here has a ``lambda`` parameter.

:class:`FullMap` is eq. (14), the three updates fused into one map on ``G`` (``G+ = f(G; Y)``); its image is
``X = D G`` (16). :class:`FastMap` is eq. (32) on the reduced codes ``G_S`` of one support per block:
``G_S+ = ((1 + b) D_S^T D_S)^{-1} (D_S^T Y + b D_S^T N_theta(D_S G_S))`` (the least-squares update (30),
deq-operators' :meth:`~deq.operators.dictionary.SupportDictionary.least_squares`), image ``D_S G_S`` (34).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from deq.models.hsi.blocks import as_blocks, as_signals
from deq.operators.dictionary import Dictionary, SupportDictionary


class Spectrum(NamedTuple):
    """The thin SVD ``D = U diag(s) W`` of a dictionary ``[d, M]`` (``d <= M``): ``U [d, d]``, ``s [d]``, ``W [d, M]``."""

    U: Tensor
    s: Tensor
    W: Tensor


def spectrum(D: Tensor) -> Spectrum:
    """The thin SVD of ``D [d, M]`` (computed in float64 and returned in ``D``'s dtype)."""
    if D.dim() != 2 or D.shape[0] > D.shape[1]:
        raise ValueError(f"spectrum: expected an overcomplete dictionary [d, M] with d <= M, got {list(D.shape)}")
    U, s, W = torch.linalg.svd(D.detach().double(), full_matrices=False)
    return Spectrum(U.to(D.dtype), s.to(D.dtype), W.to(D.dtype))


def soft(x: Tensor, tau: Tensor | float) -> Tensor:
    """Soft thresholding ``sign(x) max(|x| - tau, 0)`` (10b)."""
    return torch.sign(x) * torch.relu(x.abs() - tau)


def full_data_step(svd: Spectrum, y: Tensor, v: Tensor, z: Tensor, b: Tensor | float) -> Tensor:
    """The ``G`` update (10a, derived): ``((1 + b) D^T D + b I)^{-1} (D^T Y + b V + b D^T Z)``.

    ``y``, ``z``: ``[B, d, N]`` (signal space), ``v``: ``[B, M, N]`` (codes), ``b > 0`` a float or a 0-d tensor
    (gradients reach it). With ``D = U diag(s) W`` and ``c = diag(s) U^T (Y + b Z) + b W V``, the result is
    ``V + W^T (c / (b + (1 + b) s^2) - W V)``."""
    U, s, W = svd
    wv = W @ v
    c = s[:, None] * (U.T @ (y + b * z)) + b * wv
    return v + W.T @ (c / (b + (1 + b) * s[:, None] ** 2) - wv)


class _Penalties(nn.Module):
    """The learnable positive scalars of the HQS maps, stored as logarithms (so Adam keeps them positive)."""

    def __init__(self, **values: float) -> None:
        super().__init__()
        for name, value in values.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
            self.register_parameter(f"log_{name}", nn.Parameter(torch.tensor(math.log(value))))

    def value(self, name: str) -> Tensor:
        return getattr(self, f"log_{name}").exp()


class FullMap(nn.Module):
    """Eq. (14): ``f(G; Y) = ((1+b) D^T D + b I)^{-1} (D^T Y + b soft(G, mu/b) + b D^T N_theta(D G))`` on codes
    ``G [B, M, N]`` of blocks ``Y [B, d, N]`` (``N = n^2``).

    Args:
        dictionary: the fixed dictionary (deq-operators' :class:`~deq.operators.dictionary.Dictionary`, ``D [d, M]``).
        prior: the CNN ``N_theta`` on blocks ``[B, d, n, n]`` (deq-priors' ``hsi-cnn``).
        b, mu: initial penalty and sparsity weights (learned, positive).
    """

    def __init__(self, dictionary: Dictionary, prior: nn.Module, b: float = 1.0, mu: float = 0.01) -> None:
        super().__init__()
        self.dictionary, self.prior = dictionary, prior
        self.penalties = _Penalties(b=b, mu=mu)

    @property
    def b(self) -> Tensor:
        return self.penalties.value("b")

    @property
    def mu(self) -> Tensor:
        return self.penalties.value("mu")

    def denoise(self, x: Tensor, n: int) -> Tensor:
        """``Z = N_theta(X)`` for signals ``X [B, d, N]`` of ``n x n`` blocks (11)."""
        return as_signals(self.prior(as_blocks(x, n)))

    def start(self, y: Tensor, svd: Spectrum) -> Tensor:
        """``G^(0)``: the data step (10a) from ``V = 0``, ``Z = Y`` (``D G^(0)`` is ``Y`` shrunk along the weakest
        directions of ``D``)."""
        v = y.new_zeros(y.shape[0], self.dictionary.D.shape[1], y.shape[-1])
        return full_data_step(svd, y, v, y, self.b)

    def synthesize(self, g: Tensor) -> Tensor:
        """``X = D G`` (16)."""
        return self.dictionary(g)

    def forward(self, g: Tensor, y: Tensor, n: int, svd: Spectrum) -> Tensor:
        b = self.b
        z = self.denoise(self.dictionary(g), n)
        return full_data_step(svd, y, soft(g, self.mu / b), z, b)


class FastMap(nn.Module):
    """Eq. (32): ``f(G_S; Y) = ((1+b) D_S^T D_S)^{-1} (D_S^T Y + b D_S^T N_theta(D_S G_S))`` on reduced codes
    ``G_S [B, s, N]``, one support per block (``atoms``: a :class:`~deq.operators.dictionary.SupportDictionary`).

    Args:
        prior: the CNN ``N_theta`` on blocks ``[B, d, n, n]``.
        b: initial penalty (learned, positive).
    """

    def __init__(self, prior: nn.Module, b: float = 0.5) -> None:
        super().__init__()
        self.prior = prior
        self.penalties = _Penalties(b=b)

    @property
    def b(self) -> Tensor:
        return self.penalties.value("b")

    def start(self, y: Tensor, atoms: SupportDictionary) -> Tensor:
        """``G_S^(0)``: the least-squares fit ``(D_S^T D_S)^{-1} D_S^T Y`` of each block on its support."""
        return atoms.least_squares(y)

    def forward(self, g: Tensor, y: Tensor, n: int, atoms: SupportDictionary) -> Tensor:
        z = as_signals(self.prior(as_blocks(atoms(g), n)))
        return atoms.least_squares(y, z, self.b)
