"""LinearOperator protocol: inherited normal/prox/norm/algebra against dense-matrix references."""

from __future__ import annotations

import pytest
import torch

from deq.core.operator import Capability, LinearOperator, adjoint_test, inverse_gamma, vstack


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


class Diagonal(LinearOperator):
    """``y = d ⊙ x`` on [B, n]: declares every capability (A A^H = diag(d^2))."""

    capabilities = frozenset(Capability)

    def __init__(self, d: torch.Tensor) -> None:
        super().__init__((d.shape[0],), (d.shape[0],), input_kind="real", output_kind="real")
        self.register_buffer("d", d)

    def _forward(self, x):
        return self.d * x

    def _adjoint(self, y):
        return self.d * y

    def prox_l2(self, z, y, gamma, *, tol=None, max_iter=None):
        inv = inverse_gamma(gamma, z)
        return (self.d * y + inv * z) / (self.d**2 + inv)

    def _project(self, x, y):
        d2 = self.d**2
        return x + self.d * torch.where(d2 > 0, (y - self.d * x) / torch.where(d2 > 0, d2, 1.0), 0.0)

    def _initial_estimate(self, y):
        return self._project(torch.zeros_like(y), y)


class Declares(Matrix):
    capabilities = frozenset({Capability.PROJECTION})


def _dense(op: LinearOperator, n: int, dtype=torch.float64) -> torch.Tensor:
    """The matrix of ``op`` on [1, n] inputs, column by column."""
    return torch.stack([op(torch.eye(n, dtype=dtype)[i : i + 1])[0].reshape(-1) for i in range(n)], dim=1)


def test_capabilities_are_declared_and_missing_ones_name_themselves():
    A = Matrix(torch.randn(4, 3, dtype=torch.float64))
    assert not A.supports(Capability.PROJECTION) and not A.supports("closed_form_prox")
    with pytest.raises(NotImplementedError, match="'projection'.*onto \\{x : A x = y\\}"):
        A.project(torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(NotImplementedError, match="'initial_estimate'"):
        A.initial_estimate(torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(NotImplementedError, match="does not implement _project"):
        Declares(torch.randn(4, 3)).project(torch.zeros(1, 3), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="'teleport' is not a valid Capability"):
        A.supports("teleport")


def test_projection_lands_on_the_measurements_and_is_orthogonal():
    d = torch.tensor([2.0, 0.0, -0.5, 1.0], dtype=torch.float64)
    A = Diagonal(d)
    x, y = torch.randn(3, 4, dtype=torch.float64), A(torch.randn(3, 4, dtype=torch.float64))
    p = A.project(x, y)
    pinv = torch.linalg.pinv(torch.diag(d))
    assert torch.allclose(p, x - (x @ torch.diag(d) - y) @ pinv.T)  # x - A^+ (A x - y)
    assert torch.allclose(A(p), y) and torch.equal(p[:, 1], x[:, 1])
    with pytest.raises(ValueError, match=r"project y: expected shape \[B, 4\]"):
        A.project(x, torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="B=3 samples but y holds B=2"):
        A.project(x, y[:2])


def test_scaled_operator_keeps_capabilities_with_rescaled_arguments():
    d = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
    A = -3.0 * Diagonal(d)
    assert A.supports(Capability.CLOSED_FORM_PROX) and not (0 * Diagonal(d)).capabilities
    z, y = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    assert torch.allclose(A.prox_l2(z, y, 0.7), LinearOperator.prox_l2(A, z, y, 0.7, tol=1e-14, max_iter=100))
    assert torch.allclose(A(A.project(z, y)), y) and torch.allclose(A(A.initial_estimate(y)), y)


def test_sum_and_vstack_match_dense_algebra():
    M1, M2 = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    M3 = torch.randn(2, 4, dtype=torch.float64)
    S = Matrix(M1) + Matrix(M2)
    assert torch.allclose(_dense(S, 4), M1 + M2) and adjoint_test(S) < 1e-12
    V = vstack([Matrix(M1), Matrix(M3), 2.0 * Matrix(M2)])
    assert V.out_shape == (12,) and torch.allclose(_dense(V, 4), torch.cat([M1, M3, 2 * M2]))
    assert adjoint_test(V, (3, 4)) < 1e-12
    parts = V.split(V(torch.ones(1, 4, dtype=torch.float64)))
    assert [tuple(p.shape) for p in parts] == [(1, 5), (1, 2), (1, 5)]
    assert V.norm(n_iter=3000, tol=1e-14) == pytest.approx(float(torch.linalg.matrix_norm(_dense(V, 4), ord=2)), rel=1e-6)
    with pytest.raises(ValueError, match=r"shapes \[B, 4\] and \[B, 3\] do not match"):
        Matrix(M1) + Matrix(torch.randn(5, 3))
    with pytest.raises(ValueError, match="real tensors, the other complex"):
        vstack([Matrix(M1), Matrix(torch.randn(2, 4, dtype=torch.complex128))])


class Free(LinearOperator):
    """Doubles any [B, n] input (free size)."""

    def __init__(self) -> None:
        super().__init__((None,), (None,), input_kind="real", output_kind="real")

    def _forward(self, x):
        return 2 * x

    def _adjoint(self, y):
        return 2 * y


def test_vstack_needs_a_known_input_shape():
    with pytest.raises(ValueError, match="pass x_shape"):
        vstack([Free()])
    V = vstack([Free(), Free()], x_shape=(3,))
    assert V.out_shape == (6,) and adjoint_test(V) < 1e-12


def test_real_input_view_adjoint_and_gradient():
    M = torch.randn(6, 4, dtype=torch.complex128)
    R = Matrix(M).real_input()
    assert R.input_kind == "real" and R.output_kind == "complex"
    assert adjoint_test(R, (3, 4), dtype=torch.float64) < 1e-12
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 6, dtype=torch.complex128)
    (0.5 * (R(x) - y).abs().pow(2).sum()).backward()
    assert torch.allclose(x.grad, R.adjoint(R(x.detach()) - y))  # Re(A^H (A x - y))
    assert torch.allclose(R.adjoint(y), (y @ M.conj()).real)
    with pytest.raises(ValueError, match="expected an operator on complex inputs"):
        Matrix(torch.randn(3, 3)).real_input()
    with pytest.raises(TypeError, match="expected a real tensor"):
        R(x.detach().to(torch.complex128))


def test_gamma_inf_means_no_proximal_term_and_nan_is_rejected():
    assert inverse_gamma(float("inf"), torch.zeros(2, 3), allow_inf=True) == 0.0
    inv = inverse_gamma(torch.tensor([float("inf"), 2.0]), torch.zeros(2, 3), allow_inf=True)
    assert torch.equal(inv.flatten(), torch.tensor([0.0, 0.5]))
    with pytest.raises(ValueError, match="finite"):
        inverse_gamma(float("inf"), torch.zeros(1))
    with pytest.raises(ValueError, match="finite"):
        inverse_gamma(torch.tensor([float("inf")]), torch.zeros(1, 1))
    A = Matrix(torch.randn(6, 4, dtype=torch.float64))  # CG without a proximal term: least squares
    y = torch.randn(1, 6, dtype=torch.float64)
    ls = torch.linalg.lstsq(A.M, y.T).solution.T
    assert torch.allclose(A.prox_l2(torch.zeros(1, 4, dtype=torch.float64), y, float("inf"), tol=1e-14), ls)
    with pytest.raises(ValueError, match="positive"):
        inverse_gamma(float("nan"), torch.zeros(1))
    with pytest.raises(ValueError, match="positive"):
        inverse_gamma(torch.tensor([1.0, float("nan")]), torch.zeros(2, 1))
