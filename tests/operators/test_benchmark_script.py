"""benchmarks/operators.py runs end to end on tiny sizes and writes its section where --out says (no timing is
asserted: speed is the benchmark's business)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "operators.py"


def _load():
    if not SCRIPT.is_file():
        pytest.skip(f"{SCRIPT} is not in this checkout")
    spec = importlib.util.spec_from_file_location("operators_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_results_file_is_the_checkout_docs_not_the_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _load().RESULTS == SCRIPT.parents[1] / "docs" / "benchmarks.md"


def test_tiny_run_writes_the_operators_section(tmp_path) -> None:
    pytest.importorskip("deepinv", reason="DeepInverse (the peer of this benchmark) is not installed")
    pytest.importorskip("astra", reason="the CT rows need the extra deq-operators[ct]")
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n<!-- bench:core -->\nkept\n<!-- /bench:core -->\n")
    args = ["--batch", "2", "--size", "16", "--ct-sizes", "12", "--repeats", "1", "--ct-repeats", "1"]
    assert _load().main([*args, "--ct-prox-repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<!-- bench:core -->\nkept" in text
    assert "<!-- bench:operators -->" in text and "Command: `python benchmarks/operators.py --batch 2" in text
    for row in ("super-resolution x2", "super-resolution x4", "12x12, forward+adjoint", "12x12, prox (10 CG steps)"):
        assert f"| {row} |" in text
