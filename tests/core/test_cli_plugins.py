"""The deq CLI: commands dispatched by kind and name from the registry, plugin commands added in isolation,
expected failures as one line with exit status 2, and a real third-party plugin installed, then removed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deq.core.cli import main, parse_options
from deq.core.errors import WeightsError
from deq.core.hookspecs import hookimpl
from deq.core.registry import PluginLoadWarning, get_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deq-plugin-example"


@pytest.fixture
def plugin():
    """``plugin(name, obj)`` registers ``obj`` in the process-wide registry for the test (distribution NAME-dist)."""
    registry, names = get_registry(), []

    def add(name: str, obj: object) -> None:
        names.append(name)
        registry.register(obj, name=name, distribution=f"{name}-dist")

    yield add
    for name in names:
        registry.unregister(name)


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


class Commands:
    """One command of each command kind; each records the arguments it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def _make(self, kind: str, status: int):
        def run(argv: list[str]) -> int:
            self.calls.append((kind, argv))
            return status

        run.__doc__ = f"The toy {kind}."
        return run

    @hookimpl
    def deq_demos(self):
        return {"toy": self._make("demo", 0)}

    @hookimpl
    def deq_benchs(self):
        return {"toy": self._make("bench", 0)}

    @hookimpl
    def deq_train_recipes(self):
        return {"toy": self._make("train", 3)}

    @hookimpl
    def deq_reconstruct_problems(self):
        return {"toy": self._make("reconstruct", 0)}


def test_commands_dispatch_by_kind_and_name(plugin, capsys):
    commands = Commands()
    plugin("toy", commands)
    assert main(["demo", "toy", "--size", "8"]) == 0
    assert main(["train", "toy", "--resume", "--help"]) == 3  # the recipe's own status, its own --help
    assert main(["reconstruct", "toy"]) == 0
    assert main(["bench", "toy", "-x"]) == 0
    assert commands.calls == [
        ("demo", ["--size", "8"]),
        ("train", ["--resume", "--help"]),
        ("reconstruct", []),
        ("bench", ["-x"]),
    ]
    assert main(["train"]) == 0  # no NAME: what is installed
    assert re.search(r"^  toy +The toy train\.$", capsys.readouterr().out, re.M)


@pytest.mark.parametrize("kind", ["demo", "bench", "train", "reconstruct"])
def test_help_of_each_command_kind_lists_the_installed_names(plugin, capsys, kind):
    plugin("toy", Commands())
    with pytest.raises(SystemExit) as info:
        main([kind, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and f"usage: deq {kind}" in out and re.search(rf"^  toy +The toy {kind}\.$", out, re.M)


def test_two_plugins_with_one_command_name_break_only_that_name(plugin, capsys):
    plugin("first", Commands())
    plugin("second", Commands())
    with pytest.warns(PluginLoadWarning, match="'toy' is provided by plugins 'first'.*'second'"):
        assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "FAILED plugin 'second' (distribution second-dist): train 'toy' is provided by plugins" in out
    assert main(["demo", "core", "--max-iter", "5"]) == 0
    capsys.readouterr()
    assert main(["train", "toy"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deq: error: train 'toy' is provided by plugins 'first' (distribution first-dist) and 'second'")


class Hello:
    @hookimpl
    def deq_cli_commands(self, subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.add_argument("--to", default="world")
        p.set_defaults(func=lambda args: print(f"hello {args.to}") or 0)


class TakesList:
    @hookimpl
    def deq_cli_commands(self, subparsers):
        subparsers.add_parser("extra").set_defaults(func=lambda args: 0)
        subparsers.add_parser("list")  # deq's own command


class AlsoHello:
    @hookimpl
    def deq_cli_commands(self, subparsers):
        subparsers.add_parser("hello")


class Raises:
    @hookimpl
    def deq_cli_commands(self, subparsers):
        subparsers.add_parser("half-done")
        raise RuntimeError("boom")


def test_plugin_commands_are_added_in_isolation(plugin, capsys):
    for name, obj in (("hello", Hello()), ("takes-list", TakesList()), ("also-hello", AlsoHello()), ("raises", Raises())):
        plugin(name, obj)
    with pytest.warns(PluginLoadWarning) as warned:
        assert main(["hello", "--to", "deq"]) == 0
    assert capsys.readouterr().out == "hello deq\n"
    assert len(warned) == 3
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "FAILED plugin 'takes-list' (distribution takes-list-dist): deq_cli_commands(): command 'list' (taken by deq)" in out
    assert "FAILED plugin 'also-hello' (distribution also-hello-dist): deq_cli_commands(): command 'hello' (taken by " in out
    assert "plugin 'hello'); its commands were skipped" in out
    assert "FAILED plugin 'raises' (distribution raises-dist): deq_cli_commands() failed" in out and "boom" in out
    for skipped in ("extra", "half-done"):  # nothing of a skipped plugin is added
        with pytest.raises(SystemExit):
            main([skipped])
        assert f"invalid choice: '{skipped}'" in capsys.readouterr().err


def test_misspelled_hook_is_listed(plugin, capsys):
    class Typo:
        @hookimpl
        def deq_operator(self):
            return {}

    with pytest.warns(PluginLoadWarning, match="'typo'.*unknown hook 'deq_operator'"):
        plugin("typo", Typo())
    assert main(["list", "--kind", "operator"]) == 0
    out = capsys.readouterr().out
    assert "FAILED plugin 'typo' (distribution typo-dist): implements unknown hook 'deq_operator'" in out


class Failing:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    @hookimpl
    def deq_demos(self):
        def fail(argv: list[str]) -> int:
            raise self.exc

        return {"fail": fail}


def test_expected_failures_are_one_line_and_exit_2(plugin, capsys, monkeypatch):
    monkeypatch.delenv("DEQ_DEBUG", raising=False)
    plugin("weights", Failing(WeightsError("weight file 'w.pt' could not be read (first line\nsecond line)")))
    assert main(["demo", "fail"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "deq: error: weight file 'w.pt' could not be read (first line second line)\n"
    assert captured.out == ""
    get_registry().unregister("weights")
    plugin("shape", Failing(ValueError("expected shape [B, 1, 8, 8], got [1, 8, 8]")))
    assert main(["demo", "fail"]) == 2
    expected = "deq: error: expected shape [B, 1, 8, 8], got [1, 8, 8] (ValueError; DEQ_DEBUG=1 shows the traceback)\n"
    assert capsys.readouterr().err == expected
    monkeypatch.setenv("DEQ_DEBUG", "1")
    with pytest.raises(ValueError, match="expected shape"):
        main(["demo", "fail"])


def test_bugs_keep_their_traceback(plugin):
    plugin("bug", Failing(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        main(["demo", "fail"])


def test_unknown_command_name_is_one_line(capsys):
    assert main(["demo", "no-such-demo"]) == 2
    assert capsys.readouterr().err.startswith("deq: error: no demo named 'no-such-demo' is installed; installed demos: core")


def test_parse_options():
    assert parse_options(["n_iter=10", "accelerate=false", "mode=fast", "sigmas=[0.1, 0.2]"]) == {
        "n_iter": 10,
        "accelerate": False,
        "mode": "fast",
        "sigmas": [0.1, 0.2],
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["n_iter"])


def _deq(*args: str) -> subprocess.CompletedProcess:
    code = f"import sys; from deq.core.cli import main; sys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True, capture_output=True)


def test_example_plugin_is_discovered_usable_and_removed_on_uninstall(tmp_path):
    pytest.importorskip("hatchling", reason="installing the example plugin needs hatchling (a test dependency)")
    _pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(EXAMPLE))
    try:
        listing = _deq("list").stdout
        assert "example-finite-difference" in listing and "deq-plugin-example" in listing
        assert "example-richardson" in listing and "FAILED" not in listing
        demo = _deq("demo", "example", "--n", "16")
        assert demo.returncode == 0, demo.stderr
        assert "example-richardson" in demo.stdout and "converged 1/1" in demo.stdout
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
    assert "example-finite-difference" not in _deq("list").stdout
