"""The one list of operator configurations that drives every property test in test_properties.py.

Adding an operator (or an option of one) to the test-suite is adding one ``Case`` to ``CASES``. Each case
builds a small operator (gradcheck in float64 must stay cheap) and names the input shape and dtype kind.
"""

from __future__ import annotations

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
        closed_prox: the operator overrides ``prox_l2`` with a closed form (checked against CG).
    """

    id: str
    build: Callable[[], LinearOperator]
    x_shape: tuple[int, ...]
    complex_input: bool = False
    requires: str | None = None
    adjoint_tol32: float = 1e-5
    adjoint_tol64: float = 1e-10
    closed_prox: bool = False

    def dtype(self, double: bool) -> torch.dtype:
        if self.complex_input:
            return torch.complex128 if double else torch.complex64
        return torch.float64 if double else torch.float32

    def make(self) -> LinearOperator:
        if self.requires is not None:
            pytest.importorskip(self.requires)
        return self.build()


def _cacti_shared() -> LinearOperator:
    from deq.operators.sci import CACTI

    return CACTI(torch.rand(4, 6, 5))


def _cacti_per_sample_binary() -> LinearOperator:
    from deq.operators.sci import CACTI

    mask = (torch.rand(3, 4, 6, 5) > 0.5).to(torch.uint8)
    mask[:, :, 0, 0] = 0  # a never-sampled pixel in every sample
    return CACTI(mask)


CASES: list[Case] = [
    Case("cacti-shared", _cacti_shared, (2, 1, 4, 6, 5), closed_prox=True),
    Case("cacti-per-sample", _cacti_per_sample_binary, (3, 2, 4, 6, 5), closed_prox=True),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])
