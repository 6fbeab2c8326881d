"""solve_scope keeps an equilibrium map one map during a solve: batch norm on frozen statistics, Miyato spectral
norm computed once (with its graph), third-party layers through the ``solve_scope()`` protocol; and the
EquilibriumModel base runs every solve inside it."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from deq.core import DEQ
from deq.core.model import EquilibriumModel
from deq.core.solve_scope import solve_scope


class BNMap(nn.Module):
    """``f(z, x) = tanh(0.5 SN(W) BN(z) + x)`` with batch norm and Miyato spectral norm: both change between
    calls in training mode unless the solve scope fixes them."""

    def __init__(self, n: int = 4) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(n).double()
        self.lin = nn.utils.parametrizations.spectral_norm(nn.Linear(n, n, bias=False).double())

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.5 * self.lin(self.bn(z)) + x)


def test_map_is_fixed_within_a_scope_and_batchnorm_restored():
    f = BNMap().train()
    z, x = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64)
    stats = f.bn.running_mean.clone()
    u = f.lin.parametrizations.weight[0]._u.clone()
    with solve_scope(f):
        a, b = f(z, x), f(z, x)
        assert not f.bn.training
    assert torch.equal(a, b) and f.bn.training
    assert torch.equal(f.bn.running_mean, stats)  # no statistics update during the solve
    assert not torch.equal(f.lin.parametrizations.weight[0]._u, u)  # one power step, at scope entry
    f(z, x)
    c, d = f(z, x), f(z, x)
    assert not torch.equal(c, d)  # outside a scope, training mode changes the map every call


def test_gradients_reach_spectral_normalised_weights_through_the_cache():
    f = BNMap().train()
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    with solve_scope(f):
        z, info = DEQ(f, tol=1e-12, max_iter=200)(torch.zeros_like(x), x)
    z.sum().backward()
    assert info.converged.all()
    assert f.lin.parametrizations.weight.original.grad is not None
    assert float(f.lin.parametrizations.weight.original.grad.abs().sum()) > 0


def test_third_party_layers_enter_their_own_scope():
    entered = []

    class Layer(nn.Module):
        @contextlib.contextmanager
        def solve_scope(self):
            entered.append("in")
            yield
            entered.append("out")

    with solve_scope(nn.Sequential(Layer())):
        assert entered == ["in"]
    assert entered == ["in", "out"]


class ToyModel(EquilibriumModel):
    """``x* = tanh(0.5 SN(W) BN(x) + A^H y)`` for an identity operator."""

    def map_inputs(self, y, operator):
        return (operator.adjoint(y),)


class Identity:
    def adjoint(self, y):
        return y


def test_equilibrium_model_solves_in_scope_and_unrolls_with_every_iterate():
    model = ToyModel(BNMap(), {"tol": 1e-12, "max_iter": 200, "backward_tol": 1e-12}).train()
    y = torch.randn(5, 4, dtype=torch.float64)
    stats = model.map.bn.running_mean.clone()
    x, info = model(y, Identity())
    assert info.converged.all() and torch.equal(model.map.bn.running_mean, stats)
    x.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert set(model.state_dict()) == {f"map.{k}" for k in model.map.state_dict()}  # the map is registered once
    lip = model.lipschitz_at(x, y, Identity())["lipschitz"]
    assert lip.shape == (5,) and bool((lip < 1).all())
    model.eval()  # (in training mode each scope takes one spectral-norm power step, a slightly different map)
    x = model.reconstruct(y, Identity())
    iterates = model.iterate(y, Identity(), 300, return_all=True)
    assert len(iterates) == 300 and torch.allclose(iterates[-1], x, atol=1e-10)


def test_a_measurement_with_nan_is_refused():
    model = ToyModel(BNMap())
    y = torch.randn(2, 4, dtype=torch.float64)
    y[1, 2] = float("nan")
    try:
        model.reconstruct(y, Identity())
    except ValueError as exc:
        assert "1 NaN/Inf value(s) of 8" in str(exc)
    else:
        raise AssertionError("NaN accepted")


def test_deq_on_a_module_solves_in_its_scope():
    """The README's layer: Miyato spectral norm in training mode would take a power step on every call; a DEQ on
    the module takes exactly one per solve, so the solve converges to the fixed point of one map."""
    torch.manual_seed(0)
    f = BNMap().train()
    x = torch.randn(6, 4, dtype=torch.float64)
    sn = f.lin.parametrizations.weight[0]
    u, v = sn._u.clone(), sn._v.clone()
    z, info = DEQ(f, tol=1e-12, max_iter=300)(torch.zeros_like(x), x)
    assert info.converged.all()
    u_after = sn._u.clone()
    sn._u.copy_(u)  # replay that one power step outside a scope: the same map
    sn._v.copy_(v)
    with torch.no_grad():
        f.lin.weight  # noqa: B018  (one access = one power step in training mode)
        assert torch.allclose(sn._u, u_after)
        f.eval()
        assert torch.allclose(f(z, x), z, atol=1e-10)
