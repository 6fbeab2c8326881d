"""Shared test fixtures: the benchmark data folder (skips cleanly when absent) and determinism."""

from __future__ import annotations

import pytest
import torch

from deq.core.data import DataNotFoundError, find_data


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_data():
    """``shared_data("sci/drop40_cacti.mat") -> Path``; skips the test with the reason when absent."""

    def locate(relpath: str):
        try:
            return find_data(relpath)
        except DataNotFoundError as exc:
            pytest.skip(f"benchmark data not available: {exc}")

    return locate
