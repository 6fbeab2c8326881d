"""Shared test fixtures: the benchmark data folder (skips cleanly when absent), the repository's benchmark
scripts, and determinism."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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


@pytest.fixture
def benchmark_script(monkeypatch):
    """``benchmark_script("core") -> module``: the script ``benchmarks/core.py`` of this checkout, imported by path
    (the benchmarks are scripts, not an installed package)."""

    def load(name: str) -> ModuleType:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"deq_benchmarks_{name}", path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module

    return load
