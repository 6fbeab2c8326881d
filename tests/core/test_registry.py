"""Plugin registry: conflicts name both distributions, broken plugins and misspelled hooks are reported by
name and skipped, the rest load."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from deq.core.errors import DeqError
from deq.core.hookspecs import hookimpl
from deq.core.registry import (
    ComponentOptionError,
    PluginConflictError,
    PluginLoadWarning,
    Registry,
    UnknownComponentError,
)


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


def test_two_providers_of_one_name_is_an_error_naming_both_and_the_rest_work():
    reg = Registry()
    reg.register(_plugin("a", deq_operators={"blur": object, "shift": object}), name="a", distribution="dist-one")
    reg.register(_plugin("b", deq_operators={"blur": object}), name="b", distribution="dist-two")
    with pytest.warns(PluginLoadWarning, match=r"operator 'blur'.*dist-one.*dist-two.*DEQ_BLOCK_PLUGINS=b"):
        names = [c.name for c in reg.components("operator")]
    assert names == ["shift"]
    with pytest.raises(PluginConflictError, match=r"'a' \(distribution dist-one\) and 'b' \(distribution dist-two\)"):
        reg.get("operator", "blur")
    assert [p.plugin for p in reg.problems] == ["b"]
    reg.unregister("b")
    assert reg.get("operator", "blur").distribution == "dist-one" and not reg.problems


def test_broken_plugin_is_reported_and_the_rest_load(monkeypatch):
    good = _plugin("goodplug", deq_solvers={"mysolver": print})
    monkeypatch.setitem(sys.modules, "goodplug", good)
    eps = [
        metadata.EntryPoint(name="broken", value="no_such_module_xyz.plugin", group="deq"),
        metadata.EntryPoint(name="good", value="goodplug", group="deq"),
    ]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps)
    reg = Registry()
    with pytest.warns(PluginLoadWarning, match=r"'broken'.*ModuleNotFoundError"):
        reg.load_entry_points()
    assert [p.plugin for p in reg.problems] == ["broken"]
    assert reg.get("solver", "mysolver").obj is print


def test_misspelled_hook_is_reported_with_the_plugin_name():
    reg = Registry()
    with pytest.warns(PluginLoadWarning, match=r"plugin 'typo' \(distribution typo-dist\).*'deq_operator'.*'deq_operators'"):
        reg.register(_plugin("typo", deq_operator={"x": object}, deq_priors={"p": object}), name="typo", distribution="typo-dist")
    assert [str(p) for p in reg.problems] == [
        "plugin 'typo' (distribution typo-dist): implements unknown hook 'deq_operator' (ignored; did you mean 'deq_operators'?)"
    ]
    assert [c.name for c in reg.components("prior")] == ["p"]  # its correctly named hooks still count


def test_plugin_pluggy_rejects_is_reported_and_skipped():
    mod = types.ModuleType("wrongargs")

    @hookimpl
    def deq_operators(parser):  # the spec takes no arguments
        return {}

    mod.deq_operators = deq_operators
    reg = Registry()
    with pytest.warns(PluginLoadWarning, match=r"'wrongargs'.*rejected.*parser"):
        reg.register(mod, name="wrongargs", distribution="d")
    assert reg.pm.get_plugin("wrongargs") is None


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


def test_hook_results_that_are_not_a_mapping_of_callables_are_skipped():
    reg = Registry()
    reg.register(_plugin("lst", deq_demos=["a"]), name="lst")
    reg.register(_plugin("val", deq_demos={"ok": print, "text": "not callable"}), name="val")
    with pytest.warns(PluginLoadWarning):
        assert [c.name for c in reg.components("demo")] == ["ok"]
    messages = " | ".join(p.message for p in reg.problems)
    assert "returned list, expected a mapping" in messages and "demo 'text' is not callable" in messages


def test_blocked_plugins_are_not_loaded():
    reg = Registry()
    reg.load_entry_points(blocked=["core"])
    assert all(c.plugin != "core" for c in reg.components())


def test_unknown_component_lists_what_exists():
    reg = Registry()
    reg.register(_plugin("x", deq_models={"m1": object}), name="x")
    with pytest.raises(UnknownComponentError, match="no model named 'm2'.*m1") as info:
        reg.get("model", "m2")
    assert isinstance(info.value, DeqError)
    with pytest.raises(ValueError, match="unknown component kind"):
        reg.components("widget")


def test_create_passes_options_and_names_the_ones_it_takes():
    class Thing:
        def __init__(self, size: int = 1, *, depth: int = 2):
            self.size = size

    reg = Registry()
    reg.register(_plugin("x", deq_priors={"thing": Thing}), name="x")
    assert reg.create("prior", "thing", size=3).size == 3
    with pytest.raises(ComponentOptionError, match=r"prior 'thing': .*'bogus'; it takes size, depth") as info:
        reg.create("prior", "thing", bogus=1)
    assert isinstance(info.value, TypeError) and isinstance(info.value, DeqError)
