"""The repository's benchmarks/ folder: each script parses its arguments and writes only where it is told (by
default the checkout's docs/benchmarks.md, never the current directory); run.py finds every benchmark. Light
runs only: the real ones are `nox -s bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "benchmarks.md"


@pytest.mark.parametrize("name", ["core", "priors"])
def test_scripts_default_to_the_checkouts_docs_and_have_help(benchmark_script, capsys, name):
    script = benchmark_script(name)
    assert script.RESULTS == DOCS
    with pytest.raises(SystemExit) as info:
        script.main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "--out" in out


def test_core_bench_steps_report_both_solves_and_recompute_keeps_the_gradient(benchmark_script):
    """deq-core's side of the core bench on its small conv problem (TorchDEQ not needed): forward and backward
    iterations are read from the solve's info, and the recompute row gives the stored row's gradient."""
    core = benchmark_script("core")
    problem = core.conv_problem(batch=2, channels=8, size=16)
    runs = {}
    for recompute in (False, True):
        m = core.measure_once(problem, core.ours_step(problem, "anderson", 100, 100, recompute=recompute))
        assert m.iters[0] > 1 and m.iters[1] > 1 and m.residual < 1e-4
        runs[recompute] = m
    for name, grad in runs[False].grads.items():
        assert torch.allclose(runs[True].grads[name], grad, rtol=1e-4, atol=1e-7), name


def test_priors_weights_section_goes_to_out_not_the_cwd(benchmark_script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "elsewhere" / "results.md"
    docs_before = DOCS.read_text()
    assert benchmark_script("priors").main(["--part", "weights", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<!-- bench:priors-weights -->" in text and "Command: `python benchmarks/priors.py" in text
    assert "<!-- bench:priors -->" not in text and not (tmp_path / "docs").exists()
    assert DOCS.read_text() == docs_before


def test_run_lists_the_scripts_and_the_registered_experiments():
    listing = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--list"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split(":", 1)[0] for line in listing.splitlines()}
    assert {"core", "priors", "sci"} <= names
    assert "deq.core.cli bench sci" in listing and str(REPO / "benchmarks" / "core.py") in listing


def test_run_refuses_a_name_that_is_both_a_script_and_an_experiment(benchmark_script, monkeypatch):
    run = benchmark_script("run")
    monkeypatch.setattr(run, "registered", lambda: {"core": ["deq", "bench", "core"]})
    with pytest.raises(SystemExit, match="core: both a script"):
        run.benchmarks()


def test_run_reports_failures_and_runs_the_rest(benchmark_script, monkeypatch, tmp_path, capsys):
    run = benchmark_script("run")
    ok, fail = [sys.executable, "-c", "import sys; print(sys.argv[1:])"], [sys.executable, "-c", "raise SystemExit(3)"]
    monkeypatch.setattr(run, "benchmarks", lambda: {"bad": fail, "good": ok})
    assert run.main(["--out", str(tmp_path / "r.md")]) == 1
    captured = capsys.readouterr()
    assert "failed: bad" in captured.err and "=== good" in captured.out
