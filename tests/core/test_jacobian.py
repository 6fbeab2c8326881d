from __future__ import annotations

import torch

from deq.core.jacobian import jacobian_frobenius, jacobian_spectral_norm


def test_spectral_norm_of_linear_map_is_exact():
    W = torch.randn(20, 20, dtype=torch.float64)
    f = lambda z: z @ W.T  # noqa: E731
    sigma = jacobian_spectral_norm(f, torch.randn(3, 20, dtype=torch.float64), n_iter=500, tol=1e-12)
    exact = torch.linalg.matrix_norm(W, ord=2)
    assert torch.allclose(sigma, exact.expand(3), rtol=1e-6)


def test_spectral_norm_of_nonlinear_map_at_a_point():
    W = torch.randn(10, 10, dtype=torch.float64)
    z = torch.randn(2, 10, dtype=torch.float64)
    f = lambda v: torch.tanh(v @ W.T)  # noqa: E731
    sigma = jacobian_spectral_norm(f, z, n_iter=500, tol=1e-12)
    for i in range(2):
        J = torch.autograd.functional.jacobian(lambda v: torch.tanh(W @ v), z[i])
        assert abs(float(sigma[i]) - float(torch.linalg.matrix_norm(J, ord=2))) < 1e-6


def test_close_top_singular_values_need_many_steps_and_the_estimate_is_a_seeded_lower_bound():
    """Singular values 1.0 and 0.995 (a trained map near L = 1): 30 power steps stay measurably below the norm,
    300 steps without early stop reach it; every estimate is a lower bound, and a seed fixes it."""
    g = torch.Generator().manual_seed(3)
    U, _ = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64, generator=g))
    V, _ = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64, generator=g))
    s = torch.cat([torch.tensor([1.0, 0.995], dtype=torch.float64), torch.linspace(0.9, 0.1, 38, dtype=torch.float64)])
    W = U @ torch.diag(s) @ V.T
    f = lambda z: z @ W.T  # noqa: E731
    z = torch.zeros(1, 40, dtype=torch.float64)
    short = float(jacobian_spectral_norm(f, z, n_iter=30, tol=0.0))
    long = float(jacobian_spectral_norm(f, z, n_iter=300, tol=0.0))
    assert short < long <= 1.0 + 1e-12 and 1.0 - long < 1e-4 < 1.0 - short
    assert float(jacobian_spectral_norm(f, z, n_iter=30, tol=0.0, seed=5)) == float(
        jacobian_spectral_norm(f, z, n_iter=30, tol=0.0, seed=5)
    )


def test_hutchinson_frobenius_is_unbiased_and_differentiable():
    W = torch.randn(30, 30, dtype=torch.float64, requires_grad=True)
    f = lambda z: z @ W.T  # noqa: E731
    est = jacobian_frobenius(f, torch.zeros(1, 30, dtype=torch.float64), n_samples=4000)
    exact = (W.detach() ** 2).sum() / 30
    assert abs(float(est.detach()) - float(exact)) / float(exact) < 0.1
    est.sum().backward()
    assert W.grad is not None and W.grad.abs().sum() > 0
