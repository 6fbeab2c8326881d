"""LinearOperator protocol: inherited normal/prox/norm/algebra against dense-matrix references."""

from __future__ import annotations

import pytest
import torch

from deq.core.operator import LinearOperator, adjoint_test


class Matrix(LinearOperator):
    """Dense matrix on [B, n] (reference operator for the protocol tests)."""

    def __init__(self, M: torch.Tensor) -> None:
        kind = "complex" if M.is_complex() else "real"
        super().__init__((M.shape[1],), (M.shape[0],), input_kind=kind, output_kind=kind)
        self.register_buffer("M", M)

    def _forward(self, x):
        return x @ self.M.T

    def _adjoint(self, y):
        return y @ self.M.conj()


class WrongAdjoint(Matrix):
    def _adjoint(self, y):
        return y @ self.M  # transpose without conjugation / wrong shape for non-square


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_adjoint_normal_prox_norm_match_dense_algebra(dtype):
    M = torch.randn(30, 20, dtype=dtype)
    A = Matrix(M)
    assert adjoint_test(A, dtype=dtype) < 1e-12
    x = torch.randn(4, 20, dtype=dtype)
    assert torch.allclose(A.normal(x), x @ (M.conj().T @ M).T)
    z, y, gamma = torch.randn(4, 20, dtype=dtype), torch.randn(4, 30, dtype=dtype), 0.7
    ref = torch.linalg.solve(M.conj().T @ M + torch.eye(20) / gamma, (y @ M.conj() + z / gamma).T).T
    assert torch.allclose(A.prox_l2(z, y, gamma, tol=1e-12, max_iter=200), ref, atol=1e-9)
    assert A.norm(n_iter=2000, tol=1e-14) == pytest.approx(float(torch.linalg.matrix_norm(M, ord=2)), rel=1e-6)


def test_prox_with_per_sample_gamma():
    A = Matrix(torch.randn(10, 10, dtype=torch.float64))
    z, y = torch.randn(2, 10, dtype=torch.float64), torch.randn(2, 10, dtype=torch.float64)
    gam = torch.tensor([0.1, 10.0], dtype=torch.float64)
    both = A.prox_l2(z, y, gam, tol=1e-12)
    for i in range(2):
        single = A.prox_l2(z[i : i + 1], y[i : i + 1], float(gam[i]), tol=1e-12)
        assert torch.allclose(both[i : i + 1], single, atol=1e-9)
    with pytest.raises(ValueError, match="gamma must be positive"):
        A.prox_l2(z, y, -1.0)


def test_wrong_adjoint_is_detected():
    assert adjoint_test(WrongAdjoint(torch.randn(8, 8, dtype=torch.complex128)), dtype=torch.complex128) > 1e-3


def test_composition_scaling_and_adjoint_view():
    M1, M2 = torch.randn(7, 5, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    A, B = Matrix(M1), Matrix(M2)
    C = 2.5 * (A @ B)
    x = torch.randn(3, 4, dtype=torch.float64)
    assert torch.allclose(C(x), 2.5 * x @ (M1 @ M2).T)
    assert adjoint_test(C) < 1e-12
    assert adjoint_test(A.H, x_shape=(2, 7)) < 1e-12
    assert C.in_shape == (4,) and C.out_shape == (7,)


def test_bad_input_errors_say_what_was_expected():
    A = Matrix(torch.randn(6, 5))
    with pytest.raises(ValueError, match=r"expected shape \[B, 5\].*got \[2, 6\]"):
        A(torch.randn(2, 6))
    with pytest.raises(TypeError, match="expected a real tensor"):
        A(torch.randn(2, 5, dtype=torch.complex64))
    with pytest.raises(TypeError, match="expected a torch.Tensor"):
        A([1.0] * 5)
    with pytest.raises(ValueError, match=r"expected shape \[B, 6\]"):
        A.adjoint(torch.randn(2, 5))


def test_gradcheck_through_protocol_methods():
    A = Matrix(torch.randn(6, 5, dtype=torch.float64))
    x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(A, (x,))
    assert torch.autograd.gradcheck(A.normal, (x,))
    assert torch.autograd.gradcheck(lambda z: A.prox_l2(z, torch.ones(2, 6, dtype=torch.float64), 0.5, tol=1e-12), (x,))
