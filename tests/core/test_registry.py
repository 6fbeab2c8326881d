"""Plugin registry: conflicts name both distributions, broken plugins are skipped with a warning."""

from __future__ import annotations

import types
from importlib import metadata

import pytest

from deq.core.hookspecs import hookimpl
from deq.core.registry import PluginConflictError, PluginLoadWarning, Registry, UnknownComponentError


def _plugin(name: str, **hooks):
    mod = types.ModuleType(name)
    for hook, provided in hooks.items():
        fn = lambda provided=provided: provided  # noqa: E731
        fn.__name__ = hook
        setattr(mod, hook, hookimpl(fn))
    return mod


def test_core_registers_its_solvers_through_the_hooks():
    reg = Registry()
    reg.load_entry_points()
    names = {c.name: c.distribution for c in reg.components("solver")}
    assert names["anderson"] == "deq-core"
    assert {"anderson", "broyden", "fixed_point"} <= set(names)


def test_two_providers_of_one_name_is_an_error_naming_both():
    reg = Registry()
    reg.register(_plugin("a", deq_operators={"blur": object}), name="a", distribution="dist-one")
    reg.register(_plugin("b", deq_operators={"blur": object}), name="b", distribution="dist-two")
    with pytest.raises(PluginConflictError, match=r"dist-one.*dist-two|dist-two.*dist-one"):
        reg.components()


def test_broken_plugin_is_reported_and_the_rest_load(monkeypatch):
    good = _plugin("goodplug", deq_solvers={"mysolver": print})
    import sys

    monkeypatch.setitem(sys.modules, "goodplug", good)
    eps = [
        metadata.EntryPoint(name="broken", value="no_such_module_xyz.plugin", group="deq"),
        metadata.EntryPoint(name="good", value="goodplug", group="deq"),
    ]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    reg = Registry()
    with pytest.warns(PluginLoadWarning, match=r"'broken'.*ModuleNotFoundError"):
        reg.load_entry_points()
    assert "broken" in reg.failed
    assert reg.get("solver", "mysolver").obj is print


def test_plugin_failing_inside_a_hook_is_skipped_with_warning():
    mod = types.ModuleType("bad")

    @hookimpl
    def deq_priors():
        raise RuntimeError("boom")

    mod.deq_priors = deq_priors
    reg = Registry()
    reg.register(mod, name="bad", distribution="bad-dist")
    reg.register(_plugin("ok", deq_priors={"p": object}), name="ok", distribution="ok-dist")
    with pytest.warns(PluginLoadWarning, match="bad-dist.*boom"):
        comps = reg.components("prior")
    assert [c.name for c in comps] == ["p"]


def test_blocked_plugins_are_not_loaded(monkeypatch):
    reg = Registry()
    reg.load_entry_points(blocked=["core"])
    assert not reg.components("solver") or all(c.plugin != "core" for c in reg.components("solver"))


def test_unknown_component_lists_what_exists():
    reg = Registry()
    reg.register(_plugin("x", deq_models={"m1": object}), name="x")
    with pytest.raises(UnknownComponentError, match="no model named 'm2'.*m1"):
        reg.get("model", "m2")
    with pytest.raises(ValueError, match="unknown component kind"):
        reg.components("widget")


def test_create_passes_options():
    class Thing:
        def __init__(self, size: int = 1):
            self.size = size

    reg = Registry()
    reg.register(_plugin("x", deq_priors={"thing": Thing}), name="x")
    assert reg.create("prior", "thing", size=3).size == 3
    with pytest.raises(TypeError):
        reg.create("prior", "thing", bogus=1)
