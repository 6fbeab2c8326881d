"""Classical sparse coding with scikit-learn's implementations: the batch-OMP and Lasso baselines of Gkillas et al.
Table I, and the support of a block from its centroid (sec. V, steps 1-2).

* :func:`omp_codes`: batch OMP (Rubinstein et al. 2008; ``sklearn.linear_model.orthogonal_mp_gram``), each signal
  coded until its residual falls below a squared-norm tolerance (``d (c sigma)^2`` for denoising) or with a fixed
  number of atoms;
* :func:`lasso_codes`: ``argmin_g 1/2 ||y - D g||^2 + alpha ||g||_1`` per signal by LARS
  (``sklearn.decomposition.sparse_encode(algorithm="lasso_lars")``);
* :func:`centroid_support`: the support ``S`` of a block ``Y`` as the atoms that code its centroid
  ``y_c = 1/N sum_i y_i`` (by OMP with ``|S|`` atoms, or by the Lasso path stopped at ``|S|`` active atoms).

Arrays are numpy ``float64`` inside; signals are columns (``Y`` is ``(d, P)``), dictionaries ``(d, M)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

SUPPORT_METHODS = ("omp", "lasso")


def _f64(a: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def omp_codes(
    dictionary: Tensor | np.ndarray, signals: Tensor | np.ndarray, *, sparsity: int | None = None, tol: float | None = None
) -> np.ndarray:
    """Batch-OMP codes ``(M, P)`` of ``signals`` ``(d, P)``: at most ``sparsity`` atoms each, or as many as it takes
    to bring each residual's squared norm to ``tol`` (exactly one of the two)."""
    from sklearn.linear_model import orthogonal_mp_gram

    if (sparsity is None) == (tol is None):
        raise ValueError("omp_codes: give exactly one of sparsity (atoms per signal) and tol (squared residual norm)")
    d, y = _f64(dictionary), _f64(signals)
    extra = {"tol": tol, "norms_squared": np.sum(y**2, axis=0)} if tol is not None else {"n_nonzero_coefs": sparsity}
    with warnings.catch_warnings():  # "ended prematurely due to linear dependence": the signal is already fitted
        warnings.simplefilter("ignore", RuntimeWarning)
        codes = orthogonal_mp_gram(d.T @ d, d.T @ y, copy_Gram=False, copy_Xy=False, **extra)
    return np.asarray(codes).reshape(d.shape[1], y.shape[1])


def lasso_codes(
    dictionary: Tensor | np.ndarray, signals: Tensor | np.ndarray, alpha: float, n_jobs: int | None = None
) -> np.ndarray:
    """Lasso codes ``(M, P)``: ``argmin_g 1/2 ||y - D g||_2^2 + alpha ||g||_1`` for every column ``y`` of ``signals``
    (LARS; scikit-learn's ``sparse_encode`` divides its ``alpha`` by ``d`` to match its ``1/(2d)`` data term, so
    ``alpha`` here is the weight of the plain objective). ``n_jobs``: scikit-learn's parallel chunks of signals."""
    from sklearn.decomposition import sparse_encode

    if alpha <= 0:
        raise ValueError(f"lasso_codes: alpha must be positive, got {alpha}")
    d, y = _f64(dictionary), _f64(signals)
    return sparse_encode(y.T, d.T, algorithm="lasso_lars", alpha=alpha, max_iter=10 * d.shape[0], n_jobs=n_jobs).T


def centroid_support(dictionary: Tensor, signals: Tensor, size: int, method: str = "omp") -> Tensor:
    """The support of each block (Gkillas et al. sec. V, steps 1-2): ``size`` atom indices ``[B, size]`` that code
    the centroid ``y_c = mean_i y_i`` of the block's signals ``[B, d, N]``, by OMP with ``size`` atoms
    (``method="omp"``) or by the Lasso (LARS) path stopped when ``size`` atoms are active (``"lasso"``).

    When the centroid is coded exactly with fewer atoms (e.g. an all-zero block), the support is filled up with
    the atoms most correlated with it, so every block has ``size`` distinct atoms. ``size`` must not exceed ``d``
    (the fast update (30) solves a ``size x size`` system with ``D_S^T D_S``)."""
    from sklearn.linear_model import lars_path_gram

    if method not in SUPPORT_METHODS:
        raise ValueError(f"centroid_support: method must be one of {SUPPORT_METHODS}, got {method!r}")
    d = _f64(dictionary)
    if not 1 <= size <= d.shape[0]:
        raise ValueError(f"centroid_support: the support size must be between 1 and d = {d.shape[0]}, got {size}")
    centroids = _f64(signals.mean(-1)).T  # (d, B)
    gram, corr = d.T @ d, d.T @ centroids
    if method == "omp":
        codes = omp_codes(d, centroids, sparsity=size)
        chosen = [list(np.flatnonzero(codes[:, j])) for j in range(codes.shape[1])]
    else:
        chosen = []
        for j in range(corr.shape[1]):
            _, active, _ = lars_path_gram(corr[:, j], gram, n_samples=d.shape[0], max_iter=size, method="lasso")
            chosen.append(list(active)[:size])
    out = np.empty((len(chosen), size), dtype=np.int64)
    for j, atoms in enumerate(chosen):
        ranked = [int(k) for k in np.argsort(-np.abs(corr[:, j])) if k not in set(atoms)]
        out[j] = (atoms + ranked)[:size]
    return torch.from_numpy(np.sort(out, axis=1)).to(signals.device)
