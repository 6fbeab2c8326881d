"""TV proximal operator: against scikit-image's Chambolle solver, a duality-gap certificate, adjointness
of the difference operator, per-sample weights, non-expansiveness and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.restoration import denoise_tv_chambolle

from deq.priors.tv import TVDenoiser, total_variation, tv_duality_gap, tv_grad, tv_grad_adjoint, tv_prox, tv_prox_dual


def _noisy(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    clean = torch.zeros(shape, dtype=torch.float64)
    clean[..., shape[-2] // 4 : shape[-2] // 2, shape[-1] // 3 :] = 1.0
    return clean + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(1, 1, 48, 40), (1, 1, 6, 24, 20)])
def test_matches_skimage_chambolle(shape):
    y = _noisy(shape)
    x = tv_prox(y, 0.08, n_iter=3000, tol=1e-9)
    ref = denoise_tv_chambolle(y[0, 0].numpy(), weight=0.08, eps=1e-12, max_num_iter=20000)
    rel = np.linalg.norm(x[0, 0].numpy() - ref) / np.linalg.norm(ref)
    assert rel < 1e-4, rel


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (2, 1, 5, 16, 16)])
def test_duality_gap_certifies_solution(shape):
    y = _noisy(shape, seed=1)
    x, p, _ = tv_prox_dual(y, 0.1, n_iter=2000, tol=1e-10)
    gap = tv_duality_gap(y, 0.1, p)
    assert bool((gap >= -1e-9).all())
    assert bool((gap < 1e-6 * 0.5 * y.pow(2).flatten(1).sum(1)).all()), gap
    # any other point has a higher primal objective
    primal = lambda z: 0.5 * (z - y).pow(2).flatten(1).sum(1) + 0.1 * total_variation(z)  # noqa: E731
    assert bool((primal(x) <= primal(x + 1e-3 * torch.randn_like(x))).all())


def test_default_accuracy_is_usable():
    y = _noisy((1, 1, 64, 64), seed=2).float()
    x_fast = tv_prox(y, 0.1)
    x_ref = tv_prox(y.double(), 0.1, n_iter=3000, tol=1e-10)
    assert (x_fast.double() - x_ref).norm() / x_ref.norm() < 2e-3


@pytest.mark.parametrize("shape", [(2, 2, 7, 9), (1, 2, 3, 5, 6)])
def test_difference_operator_adjoint(shape):
    x = torch.randn(shape, dtype=torch.float64)
    p = torch.randn((len(shape) - 2, *shape), dtype=torch.float64)
    lhs = (tv_grad(x) * p).sum()
    rhs = (x * tv_grad_adjoint(p)).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_per_sample_weights_and_zero_weight():
    y = _noisy((3, 1, 24, 24), seed=3)
    w = torch.tensor([0.0, 0.05, 0.2], dtype=torch.float64)
    x = tv_prox(y, w, n_iter=500, tol=1e-8)
    assert torch.equal(x[0], y[0])
    for i in (1, 2):
        xi = tv_prox(y[i : i + 1], float(w[i]), n_iter=500, tol=1e-8)
        assert torch.allclose(x[i], xi[0], atol=1e-6)


def test_denoiser_is_nonexpansive_and_uses_sigma():
    a, b = _noisy((2, 1, 32, 32), 4), _noisy((2, 1, 32, 32), 5)
    d = TVDenoiser(weight=0.1, n_iter=1000, tol=1e-9)
    assert d.lipschitz_controlled
    assert (d(a) - d(b)).norm() <= (a - b).norm() * (1 + 1e-6)
    assert torch.allclose(d(a, sigma=0.3), tv_prox(a, 0.3, n_iter=1000, tol=1e-9))


def test_bad_input():
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        tv_prox(torch.zeros(8, 8), 0.1)
    with pytest.raises(TypeError, match="floating"):
        tv_prox(torch.zeros(1, 1, 8, 8, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match="weight"):
        tv_prox(torch.zeros(2, 1, 8, 8), torch.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        tv_prox(torch.zeros(1, 1, 8, 8), -1.0)


def test_gradcheck_through_fixed_iterations():
    y = _noisy((1, 1, 6, 6), seed=6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: tv_prox(t, 0.05, n_iter=10, tol=0.0), (y,), eps=1e-7, atol=1e-5)


@pytest.mark.parametrize("n_iter", [1, 5, 300])
def test_chambolle_equals_scikit_image_per_channel(n_iter):
    """tv_chambolle is scikit-image's denoise_tv_chambolle (the TV step of the authors' GAP-TV), iteration and
    stopping rule included: 300 iterations stop early by the energy rule in both."""
    from skimage.restoration import denoise_tv_chambolle

    from deq.priors.tv import tv_chambolle

    x = np.random.default_rng(0).random((30, 26, 3))
    ref = denoise_tv_chambolle(x, weight=0.3, max_num_iter=n_iter, channel_axis=-1)
    ours = tv_chambolle(torch.from_numpy(x.transpose(2, 0, 1))[None], 0.3, n_iter=n_iter)[0].numpy().transpose(1, 2, 0)
    assert np.abs(ref - ours).max() < 1e-12
    with pytest.raises(ValueError, match="weight > 0"):
        tv_chambolle(torch.zeros(1, 1, 4, 4), 0.0)
