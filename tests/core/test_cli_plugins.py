"""The deq CLI and a real third-party plugin installed into, then removed from, this environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deq.core.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deq-plugin-example"


def test_list_shows_kind_name_and_distribution(capsys):
    assert main(["list", "--kind", "solver"]) == 0
    out = capsys.readouterr().out
    assert "solver" in out and "anderson" in out and "deq-core" in out


def test_info_and_unknown(capsys):
    assert main(["info", "anderson"]) == 0
    assert "Anderson" in capsys.readouterr().out
    assert main(["info", "no-such-thing"]) == 2


def test_core_demo_runs_and_gradients_agree(capsys):
    assert main(["demo", "core", "--max-iter", "200"]) == 0
    out = capsys.readouterr().out
    assert "anderson" in out and "broyden" in out and "fixed_point" in out
    rel = float(out.strip().splitlines()[-1].split()[-1])
    assert rel < 1e-6


def test_reconstruct_problems_come_from_plugins(capsys):
    from deq.core.hookspecs import hookimpl
    from deq.core.registry import get_registry

    class Problem:
        @hookimpl
        def deq_reconstruct_commands(self, subparsers):
            p = subparsers.add_parser("toy")
            p.add_argument("--input", required=True)
            p.set_defaults(func=lambda args: print(f"toy reconstruct {args.input}") or 0)

    pm = get_registry().pm
    plugin = Problem()
    pm.register(plugin, name="toy-problem")
    try:
        assert main(["reconstruct", "toy", "--input", "meas.mat"]) == 0
        assert "toy reconstruct meas.mat" in capsys.readouterr().out
    finally:
        pm.unregister(plugin)
    with pytest.raises(SystemExit):
        main(["reconstruct", "toy", "--input", "meas.mat"])
    assert "invalid choice: 'toy'" in capsys.readouterr().err


def _deq_list() -> str:
    code = "from deq.core.cli import main; main(['list'])"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, capture_output=True)


def test_example_plugin_is_discovered_usable_and_removed_on_uninstall(tmp_path):
    pytest.importorskip("hatchling", reason="installing the example plugin needs hatchling (a test dependency)")
    _pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(EXAMPLE))
    try:
        listing = _deq_list()
        assert "example-finite-difference" in listing and "deq-plugin-example" in listing
        assert "example-richardson" in listing
        use = (
            "import torch\n"
            "from deq.core.registry import create, get\n"
            "from deq.core.operator import adjoint_test\n"
            "op = create('operator', 'example-finite-difference')\n"
            "assert adjoint_test(op, x_shape=(2, 3, 8)) < 1e-12\n"
            "solve = get('solver', 'example-richardson').obj\n"
            "z, info = solve(lambda z: 0.5 * z + 1, torch.zeros(2, 3, dtype=torch.float64), tol=1e-10, max_iter=500)\n"
            "assert info.converged.all() and torch.allclose(z, torch.full((2, 3), 2.0, dtype=torch.float64))\n"
            "print('ok')\n"
        )
        out = subprocess.run([sys.executable, "-c", use], capture_output=True, text=True, check=True).stdout
        assert "ok" in out
    finally:
        _pip("uninstall", "-y", "deq-plugin-example")
    assert "example-finite-difference" not in _deq_list()
