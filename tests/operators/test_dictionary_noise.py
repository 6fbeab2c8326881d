"""Dictionary (sub-dictionaries, cached HQS factorisation) and the seeded noise models."""

from __future__ import annotations

import pytest
import torch

from deq.operators import Dictionary, GaussianNoise, PoissonNoise


def test_subset_and_hqs_solve_of_the_normal_equations() -> None:
    D = torch.randn(6, 10, dtype=torch.float64)
    op = Dictionary(D)
    sub = op.subset([1, 4, 7])
    assert torch.equal(sub.D, D[:, [1, 4, 7]])
    z, y = torch.randn(2, 3, 5, dtype=torch.float64), torch.randn(2, 6, 5, dtype=torch.float64)
    g = sub.prox_l2(z, y, 0.5)
    Ds = D[:, [1, 4, 7]]
    expected = torch.linalg.solve(Ds.T @ Ds + 2.0 * torch.eye(3, dtype=torch.float64), Ds.T @ y + 2.0 * z)
    assert torch.allclose(g, expected)


def test_factorisation_is_cached_per_gamma_and_invalidated_by_edits() -> None:
    op = Dictionary(torch.randn(4, 9, dtype=torch.float64))
    z, y = torch.randn(1, 9, 2, dtype=torch.float64), torch.randn(1, 4, 2, dtype=torch.float64)
    first = op.prox_l2(z, y, 0.5)
    assert len(op._factors) == 1
    assert torch.equal(op.prox_l2(z, y, 0.5), first) and len(op._factors) == 1
    op.prox_l2(z, y, 2.0)
    assert len(op._factors) == 2
    op.D.mul_(2.0)  # in-place edit of the dictionary must not reuse a stale factor
    D = op.D
    expected = torch.linalg.solve(D.T @ D + 2.0 * torch.eye(9, dtype=torch.float64), D.T @ y + 2.0 * z)
    assert torch.allclose(op.prox_l2(z, y, 0.5), expected)


def test_dictionary_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[d, M\]"):
        Dictionary(torch.randn(3, 4, 5))
    with pytest.raises(IndexError):
        Dictionary(torch.randn(3, 4)).subset([4])
    with pytest.raises(ValueError, match="positive"):
        Dictionary(torch.randn(3, 4)).prox_l2(torch.randn(1, 4, 2), torch.randn(1, 3, 2), 0.0)


def test_gaussian_noise_is_seeded_and_has_the_right_level() -> None:
    y = torch.zeros(4, 1, 64, 64)
    a, b = GaussianNoise(0.1, seed=7)(y), GaussianNoise(0.1, seed=7)(y)
    assert torch.equal(a, b) and not torch.equal(a, GaussianNoise(0.1, seed=8)(y))
    assert abs(float(a.std()) - 0.1) < 0.005
    per_sample = GaussianNoise(0.0, seed=1)(y, sigma=torch.tensor([0.0, 0.1, 0.2, 0.3]))
    assert float(per_sample[0].abs().max()) == 0.0 and abs(float(per_sample[3].std()) - 0.3) < 0.02
    z = GaussianNoise(1.0, seed=1)(torch.zeros(1, 100000, dtype=torch.complex64))
    assert abs(float(z.abs().pow(2).mean()) - 1.0) < 0.03


def test_poisson_noise_is_seeded_unbiased_with_variance_gain_times_mean() -> None:
    x = torch.full((1, 200000), 0.5)
    noisy = PoissonNoise(gain=0.01, seed=3)(x)
    assert torch.equal(noisy, PoissonNoise(gain=0.01, seed=3)(x))
    assert abs(float(noisy.mean()) - 0.5) < 0.002
    assert abs(float(noisy.var()) - 0.005) < 0.0003
    with pytest.raises(ValueError, match="non-negative"):
        PoissonNoise(seed=0)(-x)
