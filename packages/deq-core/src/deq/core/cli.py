"""The ``deq`` command line.

    deq list [--kind KIND]            every component, its kind and distribution, and every plugin problem
    deq info NAME                     a component's documentation and signature
    deq demo|bench|train|reconstruct [NAME [ARGS...]]
                                      run the command NAME of that kind (no NAME: list the installed ones)
    deq COMMAND ...                   commands added by plugins through the ``deq_cli_commands`` hook

Expected failures (:data:`EXPECTED_ERRORS`: a missing or broken weights or data file, a shape or option that
does not fit) print one line ``deq: error: MESSAGE`` on stderr and exit with status 2; ``DEQ_DEBUG=1`` shows
their traceback instead. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from deq.core.errors import DeqError
from deq.core.hookspecs import COMMAND_KINDS, KINDS
from deq.core.registry import Component, Registry, get_registry

#: what ``deq`` reports as one line (exit 2) rather than a traceback: deq's own expected failures; a missing
#: file; a missing optional dependency (its message names the pip command); and ``ValueError`` / ``TypeError``,
#: which deq's shape and option checks raise (with ``DEQ_DEBUG=1`` for the traceback, in case it is a bug)
EXPECTED_ERRORS = (DeqError, FileNotFoundError, ImportError, ValueError, TypeError)

COMMAND_HELP = {
    "demo": "run a demo on embedded data",
    "bench": "run an experiment on deq's models (peer comparisons: benchmarks/ in the repository)",
    "train": "run a training recipe",
    "reconstruct": "reconstruct your own measurements",
}


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["n_iter=10", "accelerate=false", "mode=fast"]`` -> ``{"n_iter": 10, "accelerate": False, "mode": "fast"}``:
    ``KEY=VALUE`` pairs of a repeatable ``--opt``, each value read as JSON when it parses, else kept as a string."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--opt expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _cmd_list(args: argparse.Namespace) -> int:
    registry = get_registry()
    rows = [(c.kind, c.name, c.distribution, c.summary) for c in registry.components(args.kind)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("kind", "name", "distribution"))]
    print(f"{'kind':<{widths[0]}}  {'name':<{widths[1]}}  {'distribution':<{widths[2]}}  description")
    for kind, name, dist, summary in rows:
        print(f"{kind:<{widths[0]}}  {name:<{widths[1]}}  {dist:<{widths[2]}}  {summary}")
    for problem in registry.problems:
        print(f"FAILED {problem}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    registry = get_registry()
    matches: list[Component] = [c for c in registry.components(args.kind) if c.name == args.name]
    if not matches:
        print(f"deq: no component named '{args.name}'; `deq list` shows what is installed", file=sys.stderr)
        return 2
    for c in matches:
        obj = c.obj
        where = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
        print(f"{c.kind} '{c.name}'  (distribution {c.distribution}, plugin {c.plugin})\n  object: {where}")
        try:
            print(f"  signature: {c.name}{inspect.signature(obj)}")
        except (TypeError, ValueError):
            pass
        doc = inspect.getdoc(obj)
        if doc:
            print("\n".join("  " + line for line in doc.splitlines()))
    return 0


def _installed(registry: Registry, kind: str) -> str:
    """One line per installed command of ``kind``: name and summary."""
    comps = registry.components(kind)
    if not comps:
        return f"no {kind} commands are installed"
    width = max(len(c.name) for c in comps)
    return "\n".join(f"  {c.name:<{width}}  {c.summary}" for c in comps)


def _run_command(kind: str, args: argparse.Namespace) -> int:
    registry = get_registry()
    if args.name is None:
        print(f"installed `deq {kind} NAME` commands (`deq {kind} NAME --help` for each):\n{_installed(registry, kind)}")
        return 0
    return int(registry.get(kind, args.name).obj(list(args.args)) or 0)


def _add_plugin_commands(registry: Registry, sub: argparse._SubParsersAction) -> None:
    """Let each plugin's ``deq_cli_commands`` add its commands, in isolation: it first runs on a scratch
    parser; a plugin that raises there, or whose command names are taken, is reported and skipped."""
    owner = {name: "deq" for name in sub.choices}
    for impl in registry.pm.hook.deq_cli_commands.get_hookimpls():
        scratch = argparse.ArgumentParser(prog="deq").add_subparsers()
        try:
            impl.function(*[{"subparsers": scratch}[arg] for arg in impl.argnames])
        except Exception as exc:  # a broken plugin must not take the other commands down
            registry.report(
                impl.plugin_name, f"deq_cli_commands() failed, its commands were skipped: {type(exc).__name__}: {exc}"
            )
            continue
        taken = {name: owner[name] for name in scratch.choices if name in owner}
        if taken:
            clash = ", ".join(f"'{name}' (taken by {who})" for name, who in sorted(taken.items()))
            registry.report(impl.plugin_name, f"deq_cli_commands(): command {clash}; its commands were skipped")
            continue
        impl.function(*[{"subparsers": sub}[arg] for arg in impl.argnames])
        owner.update(dict.fromkeys(scratch.choices, f"plugin '{impl.plugin_name}'"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: the built-in commands, then the commands of installed plugins."""
    registry = get_registry()
    parser = argparse.ArgumentParser(
        prog="deq",
        description="Deep equilibrium models for imaging inverse problems.",
        epilog="Expected failures print one line and exit with status 2; DEQ_DEBUG=1 shows the traceback.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="list installed components, the distribution providing each, and plugin problems")
    p.add_argument("--kind", choices=KINDS)
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("info", help="show a component's documentation and signature")
    p.add_argument("name")
    p.add_argument("--kind", choices=KINDS)
    p.set_defaults(func=_cmd_info)
    for kind in COMMAND_KINDS:
        p = sub.add_parser(
            kind,
            help=f"{COMMAND_HELP[kind]} (`deq {kind}` lists them)",
            description=f"{COMMAND_HELP[kind]}. Installed:\n{_installed(registry, kind)}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("name", nargs="?", metavar="NAME", help=f"the {kind} command to run (none: list them)")
        p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help=f"its arguments (`deq {kind} NAME --help`)")
        p.set_defaults(func=lambda a, kind=kind: _run_command(kind, a))
    _add_plugin_commands(registry, sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deq`` console script; returns the exit status (2 for an expected failure)."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except EXPECTED_ERRORS as exc:
        if os.environ.get("DEQ_DEBUG", "") not in ("", "0"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, DeqError):
            message += f" ({type(exc).__name__}; DEQ_DEBUG=1 shows the traceback)"
        print(f"deq: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
