"""K-SVD dictionary learning (Aharon, Elad & Bruckstein 2006) on clean spectra, as Gkillas et al. sec. VI-B4
("a fixed dictionary ... learnt using the KSVD algorithm ... M = 512 atoms", ``d = 31``).

scikit-learn has no K-SVD (its ``DictionaryLearning`` solves an l1 problem, not K-SVD's l0 one), so the atom
update is written here on top of scikit-learn's batch OMP (``orthogonal_mp_gram``, Rubinstein et al. 2008) for
the sparse-coding step. One iteration:

1. sparse coding: ``G = argmin ||X - D G||_F^2`` s.t. ``||g_i||_0 <= T`` for every signal, by batch OMP;
2. atom update, for every atom ``k`` in random order: with ``w_k`` the signals that use it and
   ``E_k = X_w - sum_{j != k} d_j g_j^w`` the residual without it, the rank-one SVD ``E_k ~ s u v^T`` gives
   ``d_k = u`` and ``g_k^w = s v`` (the exact K-SVD update, not the approximate one-power-step variant);
3. clean-up (as Rubinstein's ksvdbox): an atom used by no signal, or almost parallel to another
   (``|<d_i, d_j>| > max_coherence``), is replaced by the normalised worst-represented signal. Natural spectra are
   so alike that ksvdbox's threshold 0.99 would replace most atoms of every iteration (measured: 456 of 512 on
   HYDICE + ABU), so the default is 0.9999: only near-copies go.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KSVDResult:
    """The learned dictionary ``D`` ``(d, M)`` with unit-norm columns, the root-mean-square representation error
    per iteration (on the signals' scale, before each atom update) and the number of replaced atoms per iteration."""

    dictionary: np.ndarray
    rmse: tuple[float, ...]
    replaced: tuple[int, ...]


def _normalise(columns: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(columns, axis=0)
    return columns / np.where(norms > 0, norms, 1.0)


def sparse_code(dictionary: np.ndarray, signals: np.ndarray, sparsity: int) -> np.ndarray:
    """Batch OMP (``sklearn.linear_model.orthogonal_mp_gram``): codes ``(M, P)`` of ``signals`` ``(d, P)`` with at
    most ``sparsity`` atoms of ``dictionary`` ``(d, M)`` each."""
    from sklearn.linear_model import orthogonal_mp_gram

    gram = dictionary.T @ dictionary
    with warnings.catch_warnings():  # "ended prematurely due to linear dependence": the signal is already fitted
        warnings.simplefilter("ignore", RuntimeWarning)
        codes = orthogonal_mp_gram(gram, dictionary.T @ signals, n_nonzero_coefs=sparsity, copy_Gram=False, copy_Xy=False)
    return np.asarray(codes).reshape(dictionary.shape[1], signals.shape[1])


def ksvd(
    signals: np.ndarray,
    atoms: int = 512,
    sparsity: int = 4,
    iterations: int = 15,
    *,
    seed: int = 0,
    max_coherence: float = 0.9999,
    callback: Callable[[int, float], None] | None = None,
) -> KSVDResult:
    """Learn ``atoms`` unit-norm atoms from ``signals`` ``(d, P)`` (columns are signals, e.g. clean spectra) with
    ``sparsity`` atoms per signal, for ``iterations`` K-SVD iterations; the start is ``atoms`` distinct random
    signals, normalised. ``callback(iteration, rmse)`` sees the error of each iteration."""
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"ksvd: signals must be a finite (d, P) array, got shape {x.shape}")
    d, p = x.shape
    if not 1 <= sparsity <= d:
        raise ValueError(f"ksvd: sparsity must be between 1 and d = {d}, got {sparsity}")
    if p < atoms:
        raise ValueError(f"ksvd: {atoms} atoms need at least as many signals, got {p}")
    rng = np.random.default_rng(seed)
    D = _normalise(x[:, rng.choice(p, atoms, replace=False)] + 1e-6 * rng.standard_normal((d, atoms)))
    rmse, replaced = [], []
    for it in range(iterations):
        G = sparse_code(D, x, sparsity)
        R = x - D @ G
        err = float(np.sqrt(np.mean(R**2)))
        rmse.append(err)
        if callback is not None:
            callback(it, err)
        for k in rng.permutation(atoms):
            used = np.flatnonzero(G[k])
            if used.size == 0:
                continue
            E = R[:, used] + np.outer(D[:, k], G[k, used])
            u, s, vt = np.linalg.svd(E, full_matrices=False)
            D[:, k] = u[:, 0]
            G[k, used] = s[0] * vt[0]
            R[:, used] = E - np.outer(D[:, k], G[k, used])
        replaced.append(_replace_bad_atoms(D, G, R, x, max_coherence))
    return KSVDResult(D.astype(np.float32), tuple(rmse), tuple(replaced))


def _replace_bad_atoms(D: np.ndarray, G: np.ndarray, R: np.ndarray, x: np.ndarray, max_coherence: float) -> int:
    """Replace (in place) unused atoms and atoms almost parallel to an earlier one by the normalised signals with the
    largest residual; returns how many were replaced."""
    errors = np.sum(R**2, axis=0)
    order = iter(np.argsort(errors)[::-1])
    unused = ~np.any(G != 0, axis=1)
    coherence = np.abs(np.triu(D.T @ D, k=1))
    twins = np.any(coherence > max_coherence, axis=0)
    bad = np.flatnonzero(unused | twins)
    for k in bad:
        D[:, k] = _normalise(x[:, [next(order)]])[:, 0]
    return int(bad.size)
