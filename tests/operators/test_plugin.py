"""Registration through deq-core's plugin hooks, and the ImportError of a missing extra."""

from __future__ import annotations

import builtins

import pytest

from deq.core.registry import Registry

NAMES = {
    "cacti",
    "mri-cartesian",
    "mri-nufft",
    "ct-parallel",
    "ct-parallel-sparse",
    "super-resolution",
    "blur",
    "dictionary",
    "dictionary-support",
    "inpainting",
    "denoising",
}


def test_every_operator_is_registered_and_no_benchmark() -> None:
    import deq.operators.plugin as plugin

    registry = Registry()
    registry.register(plugin, name="operators", distribution="deq-operators")
    assert {c.name for c in registry.components("operator")} == NAMES
    assert all(c.summary for c in registry.components("operator"))
    assert not registry.components("bench")  # the DeepInverse comparison lives in benchmarks/operators.py
    op = registry.create("operator", "cacti", mask=__import__("torch").ones(2, 3, 3))
    assert op.frames == 2


def test_entry_point_is_installed() -> None:
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="deq")}
    assert eps.get("operators") == "deq.operators.plugin"


@pytest.mark.parametrize(
    ("module", "extra", "build"),
    [
        ("sigpy", "nufft", lambda ops, torch: ops.NUFFTMRI(torch.zeros(4, 2), (8, 8))),
        ("odl", "ct", lambda ops, torch: ops.ParallelBeamCT(8, 4)),
    ],
)
def test_missing_extra_names_the_pip_command(monkeypatch, module, extra, build) -> None:
    import sys

    import torch

    import deq.operators as ops

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=rf'pip install "deq-operators\[{extra}\]"'):
        build(ops, torch)
