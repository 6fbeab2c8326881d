"""Properties every operator must have, run over the configuration list ``CASES`` in conftest.py:
adjoint (float32/float64), gradcheck (float64), declared capabilities, closed-form prox vs CG, projection and
norm against the dense matrix, state_dict round trip, batch independence, bad input, and the same on CUDA when
a GPU is present."""

from __future__ import annotations

import pytest
import torch

from deq.core.cg import batch_norm2
from deq.core.operator import Capability, LinearOperator, adjoint_test

from .conftest import dense_matrix


def test_adjoint_float32(case) -> None:
    op = case.make()
    assert adjoint_test(op, case.x_shape, dtype=case.dtype(False)) <= case.adjoint_tol32


def test_adjoint_float64(case) -> None:
    op = case.make()
    assert adjoint_test(op, case.x_shape, dtype=case.dtype(True)) <= case.adjoint_tol64


def test_gradcheck_float64(case) -> None:
    op = case.make()
    x = torch.randn(case.x_shape, dtype=case.dtype(True), requires_grad=True)
    # fast mode checks v^T J u for random u, v against finite differences (full Jacobians are too slow here)
    tols = {"eps": case.grad_eps, "atol": case.grad_atol, "rtol": 1e-3, "fast_mode": True}
    assert torch.autograd.gradcheck(lambda v: op(v), (x,), **tols)
    y = op(x.detach()).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: op.adjoint(v), (y,), **tols)


def test_declared_capabilities_are_implemented(case) -> None:
    op = case.make()
    assert op.supports(Capability.CLOSED_FORM_PROX) == case.closed_prox
    overrides = {
        Capability.CLOSED_FORM_PROX: "prox_l2",
        Capability.PROJECTION: "_project",
        Capability.INITIAL_ESTIMATE: "_initial_estimate",
    }
    for capability, method in overrides.items():
        implemented = getattr(type(op), method) is not getattr(LinearOperator, method)
        assert implemented or not op.supports(capability), f"{case.id} declares {capability.value} without {method}"


def test_projection_matches_the_pseudo_inverse(case) -> None:
    op = case.make()
    if not op.supports(Capability.PROJECTION):
        pytest.skip(f"{case.id}: no projection")
    dtype = case.dtype(True)
    x, y = torch.randn(case.x_shape, dtype=dtype), op(torch.randn(case.x_shape, dtype=dtype))
    matrix = dense_matrix(op, case.x_shape, dtype)
    expected = x.reshape(-1) - torch.linalg.pinv(matrix) @ (matrix @ x.reshape(-1) - y.reshape(-1))
    p = op.project(x, y)
    assert torch.allclose(p.reshape(-1), expected, atol=1e-10)
    assert torch.allclose(op(p), y, atol=1e-10)


def test_initial_estimate_is_consistent(case) -> None:
    op = case.make()
    if not op.supports(Capability.INITIAL_ESTIMATE):
        pytest.skip(f"{case.id}: no initial estimate")
    y = op(torch.randn(case.x_shape, dtype=case.dtype(True)))
    assert torch.allclose(op(op.initial_estimate(y)), y, atol=1e-10)


def test_norm_matches_the_largest_singular_value(case) -> None:
    op = case.make()
    dtype = case.dtype(True)
    matrix = dense_matrix(op, case.x_shape, dtype)
    if matrix.is_complex() and not case.complex_input:  # real inputs: the real-linear map [Re A; Im A]
        matrix = torch.cat([matrix.real, matrix.imag])
    reference = float(torch.linalg.matrix_norm(matrix, ord=2))
    estimate = op.norm(case.x_shape, n_iter=3000, tol=case.norm_rtol**2, dtype=dtype)
    assert estimate == pytest.approx(reference, rel=case.norm_rtol)


def test_state_dict_round_trip_into_a_fresh_instance(case) -> None:
    op, fresh = case.make(), case.make()  # the fresh one draws its own random mask / kernel / dictionary
    state = op.state_dict()
    fresh.load_state_dict(state)
    assert state.keys() == fresh.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in fresh.state_dict().items())
    x = torch.randn(case.x_shape, dtype=case.dtype(True))
    assert torch.allclose(fresh(x), op(x), rtol=1e-12, atol=1e-12)
    y = op(x)
    assert torch.allclose(fresh.adjoint(y), op.adjoint(y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("per_sample_gamma", [False, True])
@torch.no_grad()
def test_prox_l2_closed_form_matches_cg(case, per_sample_gamma: bool) -> None:
    op = case.make()
    if not op.supports(Capability.CLOSED_FORM_PROX):
        pytest.skip(f"{case.id}: prox_l2 is the base-class CG")
    dtype = case.dtype(True)
    z = torch.randn(case.x_shape, dtype=dtype)
    y = op(torch.randn(case.x_shape, dtype=dtype)) + 0.1 * torch.randn_like(op(z))
    b = case.x_shape[0]
    gamma = torch.linspace(0.3, 3.0, b, dtype=torch.float64) if per_sample_gamma else 0.7
    closed = op.prox_l2(z, y, gamma)
    reference = LinearOperator.prox_l2(op, z, y, gamma, tol=1e-12, max_iter=1000)
    err = batch_norm2(closed - reference) / batch_norm2(reference)
    assert float(err.max()) <= 1e-7  # CG itself stops at a 1e-12 relative residual
    # the optimality condition holds: A^H (A x - y) + (x - z) / gamma = 0
    g = gamma.reshape(-1, *([1] * (z.dim() - 1))) if per_sample_gamma else gamma
    grad = op.adjoint(op(closed) - y) + (closed - z) / g
    assert float((batch_norm2(grad) / batch_norm2(z)).max()) <= 1e-10


def test_samples_do_not_mix(case) -> None:
    """Changing sample j leaves the output of every other sample unchanged (forward and adjoint), up to float64
    round-off: the FFT operators transform pairs of real images together as one complex image."""
    op = case.make()
    dtype = case.dtype(True)
    x = torch.randn(case.x_shape, dtype=dtype)
    x2 = x.clone()
    x2[0] = 1e3 * torch.randn_like(x2[0])
    ax, ax2 = op(x), op(x2)
    assert torch.allclose(ax[1:], ax2[1:], rtol=0, atol=1e-10) and not torch.allclose(ax[0], ax2[0])
    y2 = ax.clone()
    y2[0] = 1e3 * torch.randn_like(y2[0])
    assert torch.allclose(op.adjoint(ax)[1:], op.adjoint(y2)[1:], rtol=0, atol=1e-10)


def test_bad_shape_names_expected_shape(case) -> None:
    if not case.checks_shape:
        pytest.skip(f"{case.id}: accepts any shape")
    op = case.make()
    bad_shape = case.bad_shape or (*case.x_shape[:-1], case.x_shape[-1] + 1)
    with pytest.raises(ValueError, match="expected"):
        op(torch.randn(bad_shape, dtype=case.dtype(False)))
    with pytest.raises((ValueError, TypeError), match="expected"):
        op(torch.randn(case.x_shape[1:], dtype=case.dtype(False)))  # batch dimension missing


def test_bad_dtype_is_rejected(case) -> None:
    op = case.make()
    if not case.any_kind:
        wrong = torch.randn(case.x_shape, dtype=torch.float32 if case.complex_input else torch.complex64)
        with pytest.raises(TypeError, match="expected"):
            op(wrong)
    with pytest.raises(TypeError):
        op(torch.ones(case.x_shape, dtype=torch.int64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(case) -> None:
    op = case.make()
    x = torch.randn(case.x_shape, dtype=case.dtype(True))
    cpu = op(x)
    op_gpu = op.to("cuda")
    gpu = op_gpu(x.to("cuda")).cpu()
    assert torch.allclose(cpu, gpu, rtol=1e-6, atol=1e-8)
    assert adjoint_test(op_gpu, case.x_shape, dtype=case.dtype(False)) <= case.adjoint_tol32
