"""Cross-distribution checks: the namespace merges, every distribution registers through the plugin
hooks, and dependencies point only downward (models -> priors/operators -> core)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deq.core.registry import Registry

DISTRIBUTIONS = (
    "deq-core",
    "deq-operators",
    "deq-priors",
    "deq-models-sci",
    "deq-models-hsi",
    "deq-models-luser",
    "deq-models-mismatch",
)


def test_deq_is_a_namespace_spanning_the_distributions():
    import deq
    import deq.models

    assert getattr(deq, "__file__", None) is None, "deq/__init__.py must not exist (PEP 420 namespace)"
    assert getattr(deq.models, "__file__", None) is None, "deq/models/__init__.py must not exist"
    import deq.core
    import deq.models.sci
    import deq.operators
    import deq.priors

    assert deq.core and deq.operators and deq.priors and deq.models.sci


def test_every_distribution_registers_components():
    reg = Registry()
    reg.load_entry_points()
    assert not reg.problems, f"plugin problems: {[str(p) for p in reg.problems]}"
    by_dist = {c.distribution for c in reg.components()}
    for dist in DISTRIBUTIONS:
        assert dist in by_dist, f"{dist} registers nothing"
    kinds = {c.kind for c in reg.components()}
    assert {"operator", "prior", "solver", "model", "demo", "bench", "train", "reconstruct"} <= kinds


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("deq.core", ("deq.operators", "deq.priors", "deq.models")),
        ("deq.operators", ("deq.priors", "deq.models")),
        ("deq.priors", ("deq.operators", "deq.models")),
    ],
)
def test_no_upward_imports(module, forbidden):
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({module!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    if info.name.endswith('__main__'):\n"
        "        continue\n"
        "    importlib.import_module(info.name)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({forbidden!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


def test_deq_list_cli_names_each_distribution():
    cmd = [sys.executable, "-m", "deq.core.cli", "list"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for dist in DISTRIBUTIONS:
        assert dist in out
    assert "FAILED" not in out
