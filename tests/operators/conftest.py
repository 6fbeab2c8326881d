"""The one list of operator configurations that drives every property test in test_properties.py.

Adding an operator (or an option of one) to the test-suite is adding one ``Case`` to ``CASES``. Each case
builds a small operator (gradcheck in float64 and a dense matrix of the batched map must stay cheap) and names
the input shape and dtype kind.

The sparse CT operator caches its matrix on disk: every test here uses a temporary cache folder (``DEQ_CACHE``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from deq.core.operator import LinearOperator


@dataclass(frozen=True)
class Case:
    """One operator configuration.

    Attributes:
        id: test id.
        build: ``() -> LinearOperator`` (called inside the test, after the seed fixture).
        x_shape: full input shape ``[B, ...]`` used by every property test (B >= 2).
        complex_input: the operator takes complex ``x``.
        requires: module that must be importable (an optional extra's back-end), or None.
        adjoint_tol32 / adjoint_tol64: bounds on the relative dot-product error.
        closed_prox: the operator declares and implements a closed-form ``prox_l2`` (checked against CG).
        checks_shape: the operator has a fixed input shape (Denoising accepts any).
        any_kind: the operator accepts real and complex inputs alike.
        bad_shape: an input shape the operator must reject (default: last dimension + 1).
        grad_eps / grad_atol: gradcheck's finite-difference step and tolerance (the float32 CT back-end
            needs a large step; the operator is linear, so the difference quotient is exact up to round-off).
        norm_rtol: relative tolerance of ``A.norm()`` (power iteration) against the largest singular value of
            the dense matrix (loose only for the float32 CT back-end).
    """

    id: str
    build: Callable[[], LinearOperator]
    x_shape: tuple[int, ...]
    complex_input: bool = False
    requires: str | None = None
    adjoint_tol32: float = 1e-5
    adjoint_tol64: float = 1e-10
    closed_prox: bool = False
    checks_shape: bool = True
    grad_eps: float = 1e-6
    bad_shape: tuple[int, ...] | None = None
    any_kind: bool = False
    grad_atol: float = 1e-5
    norm_rtol: float = 1e-6

    def dtype(self, double: bool) -> torch.dtype:
        if self.complex_input:
            return torch.complex128 if double else torch.complex64
        return torch.float64 if double else torch.float32

    def make(self) -> LinearOperator:
        if self.requires is not None:
            pytest.importorskip(self.requires)
        return self.build()


def _cacti_shared() -> LinearOperator:
    from deq.operators import CACTI

    return CACTI(torch.rand(4, 6, 5))


def _cacti_per_sample_binary() -> LinearOperator:
    from deq.operators import CACTI

    mask = (torch.rand(3, 4, 6, 5) > 0.5).to(torch.uint8)
    mask[:, :, 0, 0] = 0  # a never-sampled pixel in every sample
    return CACTI(mask)


def _mri(representation: str, coils: bool = False, per_sample: bool = False, centered: bool = False):
    def build() -> LinearOperator:
        from deq.operators import CartesianMRI

        mask = torch.rand(3, 8, 6) > 0.4 if per_sample else torch.rand(8, 6) > 0.4
        maps = torch.randn(3, 8, 6, dtype=torch.complex64) if coils else None
        return CartesianMRI(mask, representation=representation, coil_maps=maps, centered=centered)

    return build


def _blur(method: str, boundary: str, kernel_shape: tuple[int, ...]):
    def build() -> LinearOperator:
        from deq.operators import Blur

        return Blur(torch.rand(kernel_shape), method=method, boundary=boundary)

    return build


def _sr(factor: int, kernel_shape: tuple[int, ...]):
    def build() -> LinearOperator:
        from deq.operators import SuperResolution

        return SuperResolution(torch.rand(kernel_shape), factor)

    return build


def _dictionary(d: int, m: int):
    def build() -> LinearOperator:
        from deq.operators import Dictionary

        return Dictionary(torch.randn(d, m))

    return build


def _inpainting(per_sample: bool):
    def build() -> LinearOperator:
        from deq.operators import Inpainting

        return Inpainting(torch.rand(3, 1, 7, 6) if per_sample else (torch.rand(1, 7, 6) > 0.5), per_sample=per_sample)

    return build


def _denoising() -> LinearOperator:
    from deq.operators import Denoising

    return Denoising()


def _nufft(kind: str, density: str):
    def build() -> LinearOperator:
        from deq.operators import NUFFTMRI, radial_trajectory, spiral_trajectory

        coord = radial_trajectory(6, 10) if kind == "radial" else spiral_trajectory(10, 2, 30)
        return NUFFTMRI(coord, (10, 10), density=density)

    return build


def _ct() -> LinearOperator:
    from deq.operators import ParallelBeamCT

    return ParallelBeamCT(8, 5)


def _ct_sparse() -> LinearOperator:
    from deq.operators import SparseParallelBeamCT

    return SparseParallelBeamCT(8, 5)


def _mri_real_input(per_sample: bool = False):
    def build() -> LinearOperator:
        from deq.operators import CartesianMRI

        mask = torch.rand(3, 8, 6) > 0.4 if per_sample else torch.rand(8, 6) > 0.4
        return CartesianMRI(mask).real_input()

    return build


def _sr_sized() -> LinearOperator:
    from deq.operators import SuperResolution

    return SuperResolution(torch.rand(1, 2, 3, 3), 2, image_size=(8, 6), learnable_kernel=True)


def _support(shared: bool):
    def build() -> LinearOperator:
        from deq.operators import SupportDictionary

        support = torch.tensor([1, 4, 6]) if shared else torch.tensor([[0, 2, 5], [7, 3, 1]])
        return SupportDictionary(torch.randn(5, 8), support)

    return build


def _sum() -> LinearOperator:
    from deq.operators import Blur, Denoising

    return Blur(torch.rand(3, 3)) + 0.5 * Denoising()


def _stack() -> LinearOperator:
    from deq.core.operator import vstack
    from deq.operators import Blur, SuperResolution

    return vstack([Blur(torch.rand(3, 3)), SuperResolution(torch.rand(3, 3), 2)], x_shape=(2, 8, 6))


CASES: list[Case] = [
    Case("cacti-shared", _cacti_shared, (2, 1, 4, 6, 5), closed_prox=True),
    Case("cacti-per-sample", _cacti_per_sample_binary, (3, 2, 4, 6, 5), closed_prox=True),
    Case("mri-complex", _mri("complex"), (2, 1, 8, 6), complex_input=True, closed_prox=True),
    Case(
        "mri-complex-centered-per-sample",
        _mri("complex", per_sample=True, centered=True),
        (3, 1, 8, 6),
        complex_input=True,
        closed_prox=True,
    ),
    Case("mri-real2", _mri("real2"), (2, 2, 8, 6), closed_prox=True),
    Case("mri-multicoil-complex", _mri("complex", coils=True), (2, 1, 8, 6), complex_input=True),
    Case("mri-real-input", _mri_real_input(), (2, 1, 8, 6)),
    Case("mri-real-input-per-sample", _mri_real_input(per_sample=True), (3, 1, 8, 6)),
    Case("mri-multicoil-real2", _mri("real2", coils=True), (2, 2, 8, 6)),
    Case("blur-fft", _blur("fft", "circular", (5, 4)), (2, 3, 9, 8), closed_prox=True, bad_shape=(2, 3, 4, 3)),
    Case("blur-fft-per-sample", _blur("fft", "circular", (3, 3, 3)), (3, 2, 7, 6), closed_prox=True, bad_shape=(2, 2, 7, 6)),
    Case("blur-spatial-zeros", _blur("spatial", "zeros", (3, 4)), (2, 2, 7, 6), bad_shape=(2, 2, 2, 6)),
    Case("blur-spatial-reflect", _blur("spatial", "reflect", (3, 3)), (2, 2, 7, 6), bad_shape=(2, 2, 7, 2)),
    Case("blur-spatial-replicate-per-sample", _blur("spatial", "replicate", (3, 2, 3, 3)), (3, 2, 7, 6), bad_shape=(3, 3, 7, 6)),
    Case("blur-spatial-circular", _blur("spatial", "circular", (3, 3)), (2, 1, 7, 6), bad_shape=(2, 1, 2, 2)),
    Case("blur-spatial-valid", _blur("spatial", "valid", (3, 3)), (2, 1, 7, 6), bad_shape=(2, 1, 2, 2)),
    Case("sr-x2", _sr(2, (5, 5)), (2, 1, 8, 6), closed_prox=True, bad_shape=(2, 1, 8, 5)),
    Case("sr-x3-per-sample", _sr(3, (3, 4, 4)), (3, 2, 9, 6), closed_prox=True, bad_shape=(2, 2, 9, 6)),
    Case("sr-x2-sized-learnable-rgb", _sr_sized, (2, 2, 8, 6), closed_prox=True),
    Case("dictionary-tall", _dictionary(8, 5), (2, 5, 4), closed_prox=True, bad_shape=(2, 6, 4)),
    Case("dictionary-overcomplete", _dictionary(4, 9), (2, 9, 3), closed_prox=True, bad_shape=(2, 8, 3)),
    Case("dictionary-support-per-sample", _support(False), (2, 3, 4), closed_prox=True, bad_shape=(2, 4, 4)),
    Case("dictionary-support-shared", _support(True), (2, 3, 4), closed_prox=True, bad_shape=(2, 2, 4)),
    Case("inpainting", _inpainting(False), (2, 3, 7, 6), closed_prox=True, any_kind=True),
    Case("inpainting-per-sample", _inpainting(True), (3, 1, 7, 6), closed_prox=True, any_kind=True),
    Case("denoising", _denoising, (2, 1, 4, 4), closed_prox=True, checks_shape=False, any_kind=True),
    Case("sum-blur-plus-identity", _sum, (2, 2, 7, 6), bad_shape=(2, 2, 2, 6)),
    Case("vstack-blur-sr", _stack, (2, 2, 8, 6)),
    # back-ends outside torch: sigpy computes in the input's precision; astra in float32 only
    Case("nufft-radial", _nufft("radial", "none"), (2, 1, 10, 10), complex_input=True, requires="sigpy"),
    Case("nufft-spiral-pipe", _nufft("spiral", "pipe"), (2, 1, 10, 10), complex_input=True, requires="sigpy"),
    Case(
        "ct-parallel",
        _ct,
        (2, 1, 8, 8),
        requires="odl",
        adjoint_tol32=1e-6,
        adjoint_tol64=1e-6,
        grad_eps=1e-2,
        grad_atol=1e-4,
        norm_rtol=1e-3,
    ),
    # built once from ODL + astra (then cached), applied in torch: an exact transpose in any precision
    Case("ct-parallel-sparse", _ct_sparse, (2, 1, 8, 8), requires="astra"),
]


@pytest.fixture(autouse=True, scope="session")
def _deq_cache(tmp_path_factory: pytest.TempPathFactory):
    """A private cache folder for the whole session (the sparse CT matrices), not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEQ_CACHE", str(tmp_path_factory.mktemp("deq-cache")))
        yield


def dense_matrix(op: LinearOperator, x_shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The matrix of the batched map ``x [*x_shape] -> A x`` (flattened), one basis vector at a time: columns
    ``A e_i`` (complex for complex inputs or outputs)."""
    n = math.prod(x_shape)
    eye = torch.eye(n, dtype=dtype)
    with torch.no_grad():
        return torch.stack([op(eye[i].reshape(x_shape)).reshape(-1) for i in range(n)], dim=1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])
