"""The HQS updates of Gkillas et al. against direct solves: the G update (10a) as the minimiser of the augmented
Lagrangian (8), the fused maps (14) and (32) against their updates written out, the fast update against a
least-squares solve on D_S, and gradients with respect to b and mu."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deq.models.hsi.hqs import FastMap, FullMap, full_data_step, soft, spectrum
from deq.operators.dictionary import Dictionary, SupportDictionary


def _problem(d=6, m=14, n_sig=9, batch=2, dtype=torch.float64):
    g = torch.Generator().manual_seed(3)
    D = torch.randn(d, m, generator=g, dtype=dtype)
    D = D / D.norm(dim=0)
    y = torch.randn(batch, d, n_sig, generator=g, dtype=dtype)
    v = torch.randn(batch, m, n_sig, generator=g, dtype=dtype)
    z = torch.randn(batch, d, n_sig, generator=g, dtype=dtype)
    return D, y, v, z


def test_g_update_minimises_the_augmented_lagrangian_8():
    D, y, v, z = _problem()
    b = 0.7
    got = full_data_step(spectrum(D), y, v, z, b)
    # direct solve of the normal equations of (8) in G: ((1 + b) D^T D + b I) G = D^T Y + b V + b D^T Z
    m = D.shape[1]
    A = (1 + b) * D.T @ D + b * torch.eye(m, dtype=D.dtype)
    ref = torch.linalg.solve(A, D.T @ y + b * v + b * D.T @ z)
    assert torch.allclose(got, ref, atol=1e-10)
    # and it is the minimiser: the gradient of (8) in G vanishes there
    G = got.clone().requires_grad_()
    lagrangian = 0.5 * (y - D @ G).square().sum() + b / 2 * (v - G).square().sum() + b / 2 * (z - D @ G).square().sum()
    (grad,) = torch.autograd.grad(lagrangian, G)
    assert grad.abs().max() < 1e-10
    # the paper's printed inverse (D^T D + b D^T D + I)^{-1} is another matrix: it does not minimise (8) for b != 1
    printed = torch.linalg.solve(A - b * torch.eye(m, dtype=D.dtype) + torch.eye(m, dtype=D.dtype), D.T @ y + b * v + b * D.T @ z)
    assert (printed - ref).abs().max() > 1e-2


def test_g_update_is_deq_operators_prox_l2_with_a_blended_target():
    """(10a) = argmin 1/2 ||D G - (Y + b Z)/(1 + b)||^2 + b/(2 (1 + b)) ||G - V||^2: deq-operators' Dictionary.prox_l2."""
    D, y, v, z = _problem()
    b = 0.4
    op = Dictionary(D)
    ref = op.prox_l2(v, (y + b * z) / (1 + b), (1 + b) / b)
    assert torch.allclose(full_data_step(spectrum(D), y, v, z, b), ref, atol=1e-10)


def test_g_update_gradients_in_b_y_v_z():
    D, y, v, z = _problem(d=4, m=7, n_sig=3, batch=1)
    svd = spectrum(D)
    b = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
    inputs = tuple(t.clone().requires_grad_() for t in (y, v, z))
    assert torch.autograd.gradcheck(lambda b, y, v, z: full_data_step(svd, y, v, z, b), (b, *inputs))


def test_soft_threshold_10b():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.equal(soft(x, 0.5), torch.tensor([-1.5, -0.0, 0.0, 0.0, 1.0]))


class _Scale(nn.Module):
    """A stand-in CNN on [B, d, n, n] blocks: a fixed, non-trivial map with one learnable parameter."""

    def __init__(self, bands: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(0.5, 0.9, bands, dtype=torch.float64).reshape(1, -1, 1, 1))

    def forward(self, x):
        return torch.tanh(self.w * x)


def test_full_map_is_the_three_updates_11_in_one():
    D, y, _, _ = _problem(d=5, m=11, n_sig=4, batch=3)
    prior = _Scale(5)
    fmap = FullMap(Dictionary(D), prior, b=0.8, mu=0.05).double()
    svd = spectrum(D)
    g = torch.randn(3, 11, 4, dtype=torch.float64)
    b, mu = 0.8, 0.05
    v = soft(g, mu / b)  # (10b) of the previous iterate
    z = prior((D @ g).unflatten(-1, (2, 2))).flatten(-2)  # (11): N(D G)
    A = (1 + b) * D.T @ D + b * torch.eye(11, dtype=torch.float64)
    ref = torch.linalg.solve(A, D.T @ y + b * v + b * D.T @ z)  # (10a)
    assert torch.allclose(fmap(g, y, 2, svd), ref, atol=1e-10)


def test_full_map_gradients_reach_b_and_mu():
    D, y, _, _ = _problem(d=5, m=11, n_sig=4, batch=1)
    fmap = FullMap(Dictionary(D), _Scale(5), b=0.8, mu=0.05).double()
    g = torch.randn(1, 11, 4, dtype=torch.float64)
    fmap(g, y, 2, spectrum(D)).square().sum().backward()
    grads = {n: p.grad for n, p in fmap.named_parameters()}
    assert all(t is not None and torch.isfinite(t).all() and t.abs().sum() > 0 for t in grads.values()), grads


@pytest.mark.parametrize("b", [0.3, 2.0])
def test_fast_map_is_least_squares_on_the_support_30_32(b):
    D, y, _, _ = _problem(d=6, m=14, n_sig=9, batch=2)
    support = torch.tensor([[0, 3, 5], [2, 7, 13]])
    atoms = SupportDictionary(D, support)
    prior = _Scale(6)
    fmap = FastMap(prior, b=b).double()
    gs = torch.randn(2, 3, 9, dtype=torch.float64)
    got = fmap(gs, y, 3, atoms)
    for i in range(2):
        ds = D[:, support[i]]
        z = prior((ds @ gs[i]).unflatten(-1, (3, 3))[None])[0].flatten(-2)
        # argmin ||D_S G - Y||^2 + b ||D_S G - Z||^2 as one stacked least-squares problem
        stacked = torch.cat([ds, b**0.5 * ds])
        ref = torch.linalg.lstsq(stacked, torch.cat([y[i], b**0.5 * z])).solution
        assert torch.allclose(got[i], ref, atol=1e-10)


def test_starts_of_the_two_maps():
    D, y, _, _ = _problem(d=6, m=14, n_sig=9, batch=2)
    full = FullMap(Dictionary(D), _Scale(6), b=1.0).double()
    g0 = full.start(y, spectrum(D))
    assert torch.allclose(g0, full_data_step(spectrum(D), y, torch.zeros(2, 14, 9, dtype=torch.float64), y, 1.0))
    atoms = SupportDictionary(D, torch.tensor([1, 4, 8]))
    gs0 = FastMap(_Scale(6)).double().start(y, atoms)
    assert torch.allclose(gs0, torch.linalg.lstsq(D[:, [1, 4, 8]].expand(2, -1, -1), y).solution, atol=1e-10)


def test_penalties_must_be_positive():
    with pytest.raises(ValueError, match="b must be positive"):
        FastMap(_Scale(3), b=0.0)
    with pytest.raises(ValueError, match="mu must be positive"):
        FullMap(Dictionary(torch.eye(3)), _Scale(3), mu=-1.0)
