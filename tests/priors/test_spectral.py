"""Real spectral normalization: the power iteration against the exact operator norm (dense matrix of a
small convolution), the normalized layers, the plain option and the network product bound."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deq.priors.cnn import RSNCNN
from deq.priors.spectral import (
    RealSpectralNormConv2d,
    RealSpectralNormConv3d,
    apply_spectral_norm,
    network_lipschitz_bound,
    real_spectral_norm,
)


def _dense_norm(conv: nn.Module, shape: tuple[int, ...], weight: torch.Tensor | None = None) -> float:
    """Exact ||A||_2 from the dense matrix of x -> conv(x) (bias removed)."""
    n = int(torch.tensor(shape).prod())
    eye = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    w = (conv.weight if weight is None else weight).detach().double()
    f = nn.functional.conv2d if w.dim() == 4 else nn.functional.conv3d
    cols = f(eye, w, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
    return float(torch.linalg.matrix_norm(cols.reshape(n, -1).T, ord=2))


@pytest.mark.parametrize(
    "conv, shape",
    [
        (nn.Conv2d(3, 4, 3, padding=1), (3, 7, 6)),
        (nn.Conv2d(2, 5, 3, stride=2, padding=1), (2, 8, 8)),
        (nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2), (4, 6, 6)),
        (nn.Conv2d(2, 3, 5, padding=0), (2, 9, 9)),
        (nn.Conv3d(2, 3, 3, padding=1), (2, 3, 5, 5)),
    ],
)
def test_power_iteration_matches_dense_operator_norm(conv, shape):
    exact = _dense_norm(conv, shape)
    est = real_spectral_norm(conv, shape, n_iter=2000, tol=1e-10)
    assert abs(est - exact) <= 0.01 * exact, (est, exact)
    # the reshaped-matrix norm used by plain spectral norm is a different number
    plain = float(torch.linalg.matrix_norm(conv.weight.detach().double().flatten(1), ord=2))
    assert abs(plain - exact) > 1e-3 * exact


def test_normalized_layers_are_one_lipschitz():
    for conv, shape, cls in [
        (nn.Conv2d(3, 8, 3, padding=1), (3, 16, 16), RealSpectralNormConv2d),
        (nn.Conv3d(1, 4, 3, padding=1), (1, 4, 8, 8), RealSpectralNormConv3d),
    ]:
        layer = cls(conv)
        x = torch.randn(2, *shape)
        for _ in range(20):  # training-mode forwards refine u
            layer(x)
        exact = _dense_norm(conv, shape, layer.normalized_weight())
        assert abs(exact - 1.0) < 0.01, exact
        layer.eval()
        assert torch.equal(layer(x), layer(x))


def test_gradient_flows_through_sigma():
    layer = RealSpectralNormConv2d(nn.Conv2d(1, 2, 3, padding=1))
    layer(torch.randn(1, 1, 8, 8)).sum().backward()
    assert layer.conv.weight.grad is not None and torch.isfinite(layer.conv.weight.grad).all()


def test_plain_option_and_errors():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 1, 3))
    assert apply_spectral_norm(net, "plain") is False
    assert hasattr(net[0], "parametrizations")
    with pytest.raises(ValueError, match="spectral_norm must be one of"):
        apply_spectral_norm(net, "bogus")
    with pytest.raises(ValueError, match="input_shape"):
        real_spectral_norm(nn.Conv2d(2, 2, 3), (3, 8, 8))
    with pytest.raises(TypeError, match="Conv2d"):
        real_spectral_norm(nn.Linear(2, 2), (2,))


def test_network_bound_of_rsn_cnn_bounds_empirical_lipschitz():
    model = RSNCNN(depth=4, width=16, residual=False)
    for _ in range(30):
        model(torch.randn(2, 1, 24, 24))
    model.eval()
    assert model.lipschitz_controlled
    bound = network_lipschitz_bound(model, (1, 24, 24))
    assert bound <= 1.01
    a, b = torch.randn(8, 1, 24, 24), torch.randn(8, 1, 24, 24)
    ratio = ((model(a) - model(b)).flatten(1).norm(dim=1) / (a - b).flatten(1).norm(dim=1)).max()
    assert ratio <= bound
    plain = network_lipschitz_bound(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, bias=False)), (1, 24, 24))
    assert plain > 0
