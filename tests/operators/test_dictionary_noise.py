"""Dictionary (sub-dictionaries, cached HQS factorisation) and the seeded noise models."""

from __future__ import annotations

import pytest
import torch

from deq.operators import Dictionary, GaussianNoise, PoissonNoise, SupportDictionary


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


def test_prox_gradient_reaches_a_learnable_gamma() -> None:
    """A scalar-tensor gamma (e.g. 1/b with a learnable b) stays in the graph: gradcheck in gamma, y and z."""
    op = Dictionary(torch.randn(6, 4, dtype=torch.float64))
    z, y = torch.randn(2, 4, 3, dtype=torch.float64), torch.randn(2, 6, 3, dtype=torch.float64)
    gamma = torch.tensor(0.7, dtype=torch.float64)
    for args in ((z, y, gamma), (z, y, torch.tensor([0.3, 2.0], dtype=torch.float64))):
        inputs = tuple(a.clone().requires_grad_(True) for a in args)
        assert torch.autograd.gradcheck(lambda zz, yy, g: op.prox_l2(zz, yy, g), inputs)
    over = Dictionary(torch.randn(4, 9, dtype=torch.float64))  # M > d: the cached path uses Woodbury
    z9, y4 = torch.randn(1, 9, 2, dtype=torch.float64), torch.randn(1, 4, 2, dtype=torch.float64)
    g = gamma.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda gg: over.prox_l2(z9, y4, gg), (g,))
    assert torch.allclose(over.prox_l2(z9, y4, gamma), over.prox_l2(z9, y4, 0.7))  # tensor and float agree


def test_prox_without_proximal_term_is_least_squares() -> None:
    D = torch.randn(7, 3, dtype=torch.float64)
    y = torch.randn(2, 7, 4, dtype=torch.float64)
    expected = torch.linalg.lstsq(D.expand(2, 7, 3), y).solution
    assert torch.allclose(Dictionary(D).prox_l2(torch.zeros(2, 3, 4, dtype=torch.float64), y, float("inf")), expected)
    with pytest.raises(ValueError, match="at most d=4 atoms"):
        Dictionary(torch.randn(4, 9)).prox_l2(torch.zeros(1, 9, 2), torch.zeros(1, 4, 2), float("inf"))


def _support_problem():
    D = torch.randn(8, 12, dtype=torch.float64)
    support = torch.tensor([[0, 3, 5], [11, 2, 7]])
    return D, support, SupportDictionary(D, support)


def test_support_dictionary_gathers_one_support_per_sample() -> None:
    D, support, op = _support_problem()
    g = torch.randn(2, 3, 5, dtype=torch.float64)
    y = op(g)
    assert op.atoms().shape == (2, 8, 3)
    for b in range(2):
        assert torch.allclose(y[b], D[:, support[b]] @ g[b])
        assert torch.allclose(op.adjoint(y)[b], D[:, support[b]].T @ y[b])
    shared = SupportDictionary(D, [4, 1])
    assert shared(torch.ones(3, 2, 1, dtype=torch.float64)).shape == (3, 8, 1)


def test_support_least_squares_is_eq30_and_matches_lstsq() -> None:
    D, support, op = _support_problem()
    y, z = torch.randn(2, 8, 6, dtype=torch.float64), torch.randn(2, 8, 6, dtype=torch.float64)
    ds = torch.stack([D[:, s] for s in support])
    assert torch.allclose(op.least_squares(y), torch.linalg.lstsq(ds, y).solution)
    assert torch.allclose(op.prox_l2(torch.zeros(2, 3, 6, dtype=torch.float64), y, float("inf")), op.least_squares(y))
    b = 0.8  # Gkillas et al. eq. (30): ((1+b) D_S^T D_S)^{-1} (D_S^T Y + b D_S^T Z)
    gram = ds.transpose(1, 2) @ ds
    eq30 = torch.linalg.solve((1 + b) * gram, ds.transpose(1, 2) @ y + b * ds.transpose(1, 2) @ z)
    assert torch.allclose(op.least_squares(y, z, b), eq30)
    assert torch.allclose(op.least_squares(y, z, torch.tensor([b, b], dtype=torch.float64)), eq30)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    inputs = (y.clone().requires_grad_(True), z.clone().requires_grad_(True), bt)
    assert torch.autograd.gradcheck(lambda yy, zz, bb: op.least_squares(yy, zz, bb), inputs)


def test_support_prox_matches_normal_equations_and_gradchecks() -> None:
    D, support, op = _support_problem()
    z, y = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 8, 4, dtype=torch.float64)
    gamma = torch.tensor([0.5, 3.0], dtype=torch.float64)
    x = op.prox_l2(z, y, gamma)
    for b in range(2):
        ds = D[:, support[b]]
        ref = torch.linalg.solve(ds.T @ ds + torch.eye(3, dtype=torch.float64) / gamma[b], ds.T @ y[b] + z[b] / gamma[b])
        assert torch.allclose(x[b], ref)
    inputs = (z.requires_grad_(True), y.requires_grad_(True), torch.tensor(0.9, dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(lambda zz, yy, g: op.prox_l2(zz, yy, g), inputs)


def test_support_dictionary_bad_input() -> None:
    D = torch.randn(4, 6)
    with pytest.raises(IndexError, match=r"\[0, 6\)"):
        SupportDictionary(D, [[0, 6]])
    with pytest.raises(TypeError, match="integer atom indices"):
        SupportDictionary(D, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[B, s\] or \[s\]"):
        SupportDictionary(D, torch.zeros(2, 2, 2, dtype=torch.long))
    op = SupportDictionary(D, [[0, 1], [2, 3], [4, 5]])
    with pytest.raises(ValueError, match="B=2"):
        op(torch.randn(2, 2, 3))
    repeated = SupportDictionary(D, [[1, 1]])
    with pytest.raises(ValueError, match="singular for sample"):
        repeated.least_squares(torch.randn(1, 4, 3))
    with pytest.raises(ValueError, match="b must be >= 0"):
        op.least_squares(torch.randn(3, 4, 2), torch.randn(3, 4, 2), -1.0)
