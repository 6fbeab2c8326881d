"""Classical sparse coding through scikit-learn (batch OMP, Lasso), the per-block support of the fast models and
K-SVD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import lars_path, orthogonal_mp

from deq.models.hsi.ksvd import ksvd
from deq.models.hsi.sparse import centroid_support, lasso_codes, omp_codes
from deq.operators.dictionary import SupportDictionary


def _dictionary(d=8, m=20, seed=0) -> np.ndarray:
    D = np.random.default_rng(seed).standard_normal((d, m))
    return D / np.linalg.norm(D, axis=0)


def test_omp_codes_are_sklearns_omp_with_sparsity_or_tolerance():
    D = _dictionary()
    y = np.random.default_rng(1).standard_normal((8, 5))
    assert np.allclose(omp_codes(D, y, sparsity=3), orthogonal_mp(D, y, n_nonzero_coefs=3))
    codes = omp_codes(D, y, tol=0.5)
    assert np.all(np.sum((y - D @ codes) ** 2, axis=0) <= 0.5 + 1e-9)
    with pytest.raises(ValueError, match="exactly one"):
        omp_codes(D, y)


def test_lasso_codes_satisfy_the_lasso_optimality_conditions():
    D = _dictionary()
    y = np.random.default_rng(2).standard_normal((8, 4))
    alpha = 0.3
    g = lasso_codes(D, y, alpha)
    corr = D.T @ (y - D @ g)  # KKT of 1/2||y - Dg||^2 + alpha||g||_1: |corr| <= alpha, = alpha sign(g) on the support
    assert np.all(np.abs(corr) <= alpha + 1e-6)
    on = g != 0
    assert on.any() and np.allclose(corr[on], alpha * np.sign(g[on]), atol=1e-6)
    with pytest.raises(ValueError, match="alpha must be positive"):
        lasso_codes(D, y, 0.0)


def test_every_block_gets_the_support_of_its_own_centroid():
    D = torch.from_numpy(_dictionary(d=20, m=30)).float()
    g = torch.Generator().manual_seed(0)
    # two blocks built from different atoms: each support must find its own
    codes = torch.zeros(2, 30, 16)  # (an incoherent enough dictionary: OMP recovers 2 atoms exactly)
    codes[0, [1, 7]] = torch.rand(2, 16, generator=g) + 0.5
    codes[1, [12, 25]] = torch.rand(2, 16, generator=g) + 0.5
    blocks = D @ codes
    support = centroid_support(D, blocks, 2)
    assert support.tolist() == [[1, 7], [12, 25]]
    for j in range(2):  # = scikit-learn's OMP on the block's centroid
        ref = orthogonal_mp(D.double().numpy(), blocks[j].mean(-1).double().numpy(), n_nonzero_coefs=2)
        assert sorted(np.flatnonzero(ref)) == support[j].tolist()
    lasso = centroid_support(D, blocks, 2, method="lasso")  # the first two atoms to enter the Lasso path
    for j in range(2):
        _, active, _ = lars_path(D.double().numpy(), blocks[j].mean(-1).double().numpy(), method="lasso")
        assert sorted(active[:2]) == lasso[j].tolist()
    # the per-block supports drive the batched reduced operator: each block is coded on its own atoms
    op = SupportDictionary(D, support)
    assert torch.allclose(op(op.least_squares(blocks)), blocks, atol=1e-5)


def test_support_is_filled_up_when_the_centroid_needs_fewer_atoms():
    D = torch.from_numpy(_dictionary(d=8, m=30)).float()
    blocks = torch.zeros(3, 8, 4)
    blocks[1] = D[:, [4]].expand(8, 4)  # exactly one atom
    support = centroid_support(D, blocks, 5)
    assert support.shape == (3, 5) and all(len(set(row)) == 5 for row in support.tolist()) and 4 in support[1].tolist()
    with pytest.raises(ValueError, match="between 1 and d = 8"):
        centroid_support(D, blocks, 9)
    with pytest.raises(ValueError, match="method must be one of"):
        centroid_support(D, blocks, 2, method="cosamp")


def test_ksvd_learns_a_dictionary_that_codes_its_training_signals():
    rng = np.random.default_rng(0)
    truth = _dictionary(d=10, m=15, seed=3)
    codes = np.zeros((15, 1000))
    for j in range(1000):
        codes[rng.choice(15, 2, replace=False), j] = rng.uniform(0.5, 1.5, 2) * rng.choice([-1, 1], 2)
    x = truth @ codes
    result = ksvd(x, atoms=15, sparsity=2, iterations=25, seed=0)
    D = result.dictionary
    assert D.shape == (10, 15) and np.allclose(np.linalg.norm(D, axis=0), 1, atol=1e-5)
    assert result.rmse[-1] < 0.5 * result.rmse[0]  # the error falls from the random-signal start
    recovered = np.max(np.abs(truth.T @ D), axis=1)  # each true atom found (up to sign) in the learned dictionary
    assert np.mean(recovered > 0.95) >= 0.9
    with pytest.raises(ValueError, match="at least as many signals"):
        ksvd(x[:, :10], atoms=15)
