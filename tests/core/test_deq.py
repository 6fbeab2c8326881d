"""DEQ backward modes against a fully converged unrolled loop (float64)."""

from __future__ import annotations

import gc
import warnings
import weakref

import pytest
import torch
from torch import nn

from deq.core import DEQ, SolverConfig, SolverNotConvergedWarning


class TanhMap(nn.Module):
    """z -> tanh(W z + U x): a contraction (||W|| = 0.8, tanh 1-Lipschitz)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        w = torch.randn(n, n, dtype=torch.float64)
        self.W = nn.Parameter(0.8 * w / torch.linalg.matrix_norm(w, ord=2))
        self.U = nn.Parameter(torch.randn(n, n, dtype=torch.float64) / n**0.5)

    def forward(self, z, x):
        return torch.tanh(z @ self.W.T + x @ self.U.T)


class LinearMap(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        w = torch.randn(n, n, dtype=torch.float64)
        self.W = nn.Parameter(0.7 * w / torch.linalg.matrix_norm(w, ord=2))

    def forward(self, z, x):
        return z @ self.W.T + x


def _unrolled_grads(f, x, w, n_steps=400):
    z = torch.zeros_like(x)
    for _ in range(n_steps):
        z = f(z, x)
    return torch.autograd.grad((z * w).sum(), [*f.parameters(), x])


def _rel(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.parametrize("map_cls", [TanhMap, LinearMap])
@pytest.mark.parametrize("solver", ["anderson", "broyden", "fixed_point"])
def test_ift_matches_unrolled(map_cls, solver):
    f = map_cls(16)
    x = torch.randn(3, 16, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 16, dtype=torch.float64)
    ref = _unrolled_grads(f, x, w)
    deq = DEQ(f, solver=solver, tol=1e-13, max_iter=400, backward_tol=1e-13, backward_max_iter=400)
    z, info = deq(torch.zeros_like(x), x)
    assert info.converged.all()
    grads = torch.autograd.grad((z * w).sum(), [*f.parameters(), x])
    assert len(grads) == len(ref)
    for g, r in zip(grads, ref):
        assert _rel(g, r) < 1e-6
    assert info.backward is not None and info.backward.converged.all()


def test_gradients_reach_parameters_and_inputs_through_backward():
    f = TanhMap(8)
    x = torch.randn(2, 8, dtype=torch.float64, requires_grad=True)
    z, _ = DEQ(f, tol=1e-10)(torch.zeros_like(x), x)
    z.sum().backward()
    assert f.W.grad is not None and f.W.grad.abs().sum() > 0
    assert f.U.grad is not None and f.U.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("recompute", [False, True])
@pytest.mark.parametrize("backward", ["ift", "neumann"])
@pytest.mark.parametrize("run_backward", [True, False])
def test_a_training_step_leaves_nothing_alive_once_its_tensors_are_dropped(recompute, backward, run_backward):
    # the backward used to be a hook on f(z*) closing over f(z*) itself: a cycle through autograd's C++ graph that
    # Python's collector cannot free, so every step leaked its equilibrium, its graph and its SolverInfo
    f = TanhMap(8)
    x = torch.randn(2, 8, dtype=torch.float64, requires_grad=True)
    z, info = DEQ(f, tol=1e-10, backward=backward, recompute=recompute)(torch.zeros_like(x), x)
    if run_backward:
        z.sum().backward()
        assert f.W.grad is not None and f.W.grad.abs().sum() > 0
    alive = [weakref.ref(info), weakref.ref(z)]
    del z, info
    gc.collect()
    assert [r() for r in alive] == [None, None]


def test_neumann_converges_to_ift_as_terms_grow():
    f = TanhMap(12)
    x = torch.randn(2, 12, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 12, dtype=torch.float64)
    ref = _unrolled_grads(f, x, w)
    errors = []
    for k in (1, 5, 20, 80):
        z, _ = DEQ(f, backward="neumann", neumann_terms=k, tol=1e-13, max_iter=400)(torch.zeros_like(x), x)
        g = torch.autograd.grad((z * w).sum(), [f.W])[0]
        errors.append(_rel(g, ref[0]))
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-6


def test_jfb_is_an_approximation_with_the_right_sign():
    f = TanhMap(12)
    x = torch.randn(2, 12, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 12, dtype=torch.float64)
    ref = _unrolled_grads(f, x, w)[0]
    z, _ = DEQ(f, backward="jfb", tol=1e-12, max_iter=400)(torch.zeros_like(x), x)
    g = torch.autograd.grad((z * w).sum(), [f.W])[0]
    cos = float((g * ref).sum() / (g.norm() * ref.norm()))
    assert 0.3 < cos < 1.0 - 1e-9  # descent direction, but not the exact gradient


def test_no_grad_and_eval_build_no_graph():  # and: nothing requiring grad means no graph, even in grad mode
    f = TanhMap(8)
    x = torch.randn(2, 8, dtype=torch.float64)
    deq = DEQ(f).eval()
    with torch.no_grad():
        z, info = deq(torch.zeros_like(x), x)
    assert not z.requires_grad and info.converged.all()
    # gradients disabled only for the parameters: still no graph needed
    for p in f.parameters():
        p.requires_grad_(False)
    z2, _ = deq(torch.zeros_like(x), x)
    assert not z2.requires_grad


def test_fixed_point_value_is_the_equilibrium():
    f = LinearMap(10)
    x = torch.randn(3, 10, dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(10, dtype=torch.float64) - f.W.detach(), x.T).T
    z, _ = DEQ(f, tol=1e-12, max_iter=200)(torch.zeros_like(x), x)
    assert _rel(z.detach(), exact) < 1e-10


def test_bad_backward_name():
    with pytest.raises(ValueError, match="backward must be one of"):
        DEQ(TanhMap(2), backward="implicit")


def test_unknown_settings_and_solver_options_are_errors():
    with pytest.raises(TypeError, match="unknown solver setting"):
        DEQ(TanhMap(2), tolerance=1e-3)
    with pytest.raises(TypeError, match=r"'broyden' takes no option\(s\) \['beta'\]"):
        DEQ(TanhMap(2), solver="broyden", solver_options={"beta": 0.5})
    with pytest.raises(TypeError, match=r"'fixed_point' takes no option\(s\) \['m'\]"):
        SolverConfig(solver="fixed_point", solver_options={"m": 5})
    with pytest.raises(TypeError, match="backward"):  # checked against the backward solver too
        SolverConfig(solver="anderson", backward_solver="fixed_point", backward_solver_options={"m": 3})
    assert SolverConfig(solver="broyden", solver_options={"m": 8}).solver_options == {"m": 8}


def test_config_round_trip_and_eval_iterations():
    config = SolverConfig(solver="anderson", max_iter=7, eval_max_iter=30, solver_options={"m": 3, "beta": 0.8})
    assert SolverConfig.from_dict(config.to_dict()) == config
    f = TanhMap(6)
    x = torch.randn(2, 6, dtype=torch.float64)
    deq = DEQ(f, config, tol=1e-14, warn_unconverged=False)
    _, info_train = deq(torch.zeros_like(x), x)
    deq.eval()
    _, info_eval = deq(torch.zeros_like(x), x)
    assert int(info_train.nstep.max()) == 7 and int(info_eval.nstep.max()) > 7


def test_unconverged_solve_warns_once_naming_samples_and_can_be_silenced():
    f = TanhMap(6)
    x = torch.randn(3, 6, dtype=torch.float64)
    with pytest.warns(SolverNotConvergedWarning, match=r"3 of 3 samples stopped at max_iter 2 .*indices \[0, 1, 2\]") as rec:
        DEQ(f, max_iter=2, tol=1e-14)(torch.zeros_like(x), x)
    assert len([w for w in rec if w.category is SolverNotConvergedWarning]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DEQ(f, max_iter=2, tol=1e-14, warn_unconverged=False)(torch.zeros_like(x), x)


def test_unconverged_ift_backward_warns():
    f = TanhMap(6)
    x = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    z, info = DEQ(f, tol=1e-12, max_iter=300, backward_tol=1e-14, backward_max_iter=2)(torch.zeros_like(x), x)
    with pytest.warns(SolverNotConvergedWarning, match="IFT backward"):
        z.sum().backward()
    assert info.backward is not None and not info.backward.converged.all()


def test_z0_of_the_wrong_shape_is_a_clear_error():
    f = lambda z, x: 0.5 * z + x  # noqa: E731  broadcasting would hide a z0 of the wrong shape
    x = torch.randn(2, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"returned shape \[2, 6\] for an iterate of shape \[2, 1\]"):
        DEQ(f)(torch.zeros(2, 1, dtype=torch.float64), x)


def test_lambda_closing_over_a_parameter_gets_the_implicit_gradient():
    W = TanhMap(6).W.detach().clone().requires_grad_()
    x = torch.randn(2, 6, dtype=torch.float64)  # the input needs no gradient
    w = torch.randn(2, 6, dtype=torch.float64)
    f = lambda z, x: torch.tanh(z @ W.T + x)  # noqa: E731
    z, _ = DEQ(f, tol=1e-13, max_iter=400, backward_tol=1e-13, backward_max_iter=400)(torch.zeros_like(x), x)
    assert z.requires_grad
    (g,) = torch.autograd.grad((z * w).sum(), [W])
    zu = torch.zeros_like(x)
    for _ in range(400):
        zu = f(zu, x)
    (ref,) = torch.autograd.grad((zu * w).sum(), [W])
    assert _rel(g, ref) < 1e-6


@pytest.mark.parametrize("solver", ["anderson", "nesterov"])
def test_ift_with_nesterov_forward_and_anderson_backward(solver):
    f = TanhMap(10)
    x = torch.randn(2, 10, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 10, dtype=torch.float64)
    ref = _unrolled_grads(f, x, w)
    deq = DEQ(f, solver=solver, backward_solver="anderson", tol=1e-13, max_iter=400, backward_tol=1e-13)
    z, _ = deq(torch.zeros_like(x), x)
    for g, r in zip(torch.autograd.grad((z * w).sum(), [*f.parameters(), x]), ref):
        assert _rel(g, r) < 1e-6


def test_bound_method_map_gets_parameter_gradients_without_input_grad():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = TanhMap(6)

        def step(self, z, x):
            return self.inner(z, x)

    block = Block()
    x = torch.randn(2, 6, dtype=torch.float64)  # no grad on the input
    z, _ = DEQ(block.step, tol=1e-10)(torch.zeros_like(x), x)
    assert z.requires_grad
    z.sum().backward()
    assert block.inner.W.grad is not None


class NormalisedConvMap(nn.Module):
    """z -> 0.5 tanh(BN(SN-conv(z))) + x with Miyato spectral norm (a power step per solve in training mode) and
    batch norm with non-trivial statistics: the buffers a recomputation has to see as in the forward pass."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(2, 2, 3, padding=1, dtype=torch.float64)
        self.conv = nn.utils.parametrizations.spectral_norm(conv)
        self.bn = nn.BatchNorm2d(2, dtype=torch.float64)
        self.bn.running_mean.fill_(0.1)
        self.bn.running_var.fill_(1.5)

    def forward(self, z, x):
        return 0.5 * torch.tanh(self.bn(self.conv(z))) + x


def _two_solves_grads(recompute: bool, backward: str) -> list[torch.Tensor]:
    """Gradients of a loss through two solves of one shared map (as LUSER-SW's stages): the second solve's power
    step changes the spectral-norm vectors the first solve used."""
    torch.manual_seed(0)
    f = NormalisedConvMap().train()
    deq = DEQ(f, solver="anderson", tol=1e-12, max_iter=100, backward=backward, backward_tol=1e-12, recompute=recompute)
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    z1, _ = deq(torch.zeros_like(x), x)
    z2, _ = deq(torch.zeros_like(x), z1)
    loss = (z2 * torch.linspace(-1, 1, z2.numel(), dtype=torch.float64).reshape(z2.shape)).sum()
    return list(torch.autograd.grad(loss, [*f.parameters(), x]))


@pytest.mark.parametrize("backward", ["ift", "neumann"])
def test_recompute_gives_the_stored_gradients(backward):
    stored, again = _two_solves_grads(False, backward), _two_solves_grads(True, backward)
    for a, b in zip(again, stored):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_recompute_refuses_dropout_in_training_and_jfb():
    with pytest.raises(ValueError, match="dropout"):
        DEQ(_DropoutMap(), recompute=True)(torch.zeros(1, 3, dtype=torch.float64), torch.ones(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="jfb"):
        SolverConfig(backward="jfb", recompute=True)


class _DropoutMap(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.drop = nn.Linear(3, 3, dtype=torch.float64), nn.Dropout(0.1)

    def forward(self, z, x):
        return 0.1 * self.drop(self.lin(z)) + x


def test_forward_autocast_solves_in_low_precision_and_keeps_the_backward():
    """forward_autocast="bfloat16": the forward solve evaluates f in bfloat16 (the equilibrium moves by about the
    format's resolution, not more), returns the iterate's dtype, and the implicit gradient stays the float32 one."""
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(32, 32), nn.Tanh())
    with torch.no_grad():
        f[0].weight.mul_(0.6 / torch.linalg.matrix_norm(f[0].weight, ord=2))

    def g(z, x):
        return f(z) + x

    x = torch.randn(4, 32, requires_grad=True)
    w = torch.randn(4, 32)
    out = {}
    for mode in (None, "bfloat16"):
        deq = DEQ(g, tol=1e-2 if mode else 1e-6, max_iter=60, backward_tol=1e-6, forward_autocast=mode)
        z, info = deq(torch.zeros_like(x), x)
        assert z.dtype == torch.float32 and bool(info.converged.all())
        out[mode] = (z.detach(), torch.autograd.grad((z * w).sum(), [f[0].weight, x]))
    (z32, g32), (z16, g16) = out[None], out["bfloat16"]
    err = _rel(z16, z32)
    assert 1e-5 < err < 2e-2  # low precision was used, and only moved the equilibrium by its rounding
    for a, b in zip(g16, g32):
        assert _rel(a, b) < 2e-2
    with pytest.raises(ValueError, match="forward_autocast must be one of"):
        SolverConfig(forward_autocast="int8")
