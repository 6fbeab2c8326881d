"""The ``deq`` command line: ``deq list``, ``deq info NAME``, ``deq demo [NAME]``, ``deq bench [NAME]``,
``deq reconstruct PROBLEM`` (problems from the ``deq_reconstruct_commands`` hook), plus sub-commands
contributed by installed plugins through the ``deq_cli_commands`` hook."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence

from deq.core.registry import Component, get_registry


def _cmd_list(args: argparse.Namespace) -> int:
    registry = get_registry()
    comps = registry.components(args.kind)
    rows = [(c.kind, c.name, c.distribution, c.summary) for c in comps]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(("kind", "name", "distribution"))]
    print(f"{'kind':<{widths[0]}}  {'name':<{widths[1]}}  {'distribution':<{widths[2]}}  description")
    for kind, name, dist, summary in rows:
        print(f"{kind:<{widths[0]}}  {name:<{widths[1]}}  {dist:<{widths[2]}}  {summary}")
    for plugin, error in sorted(registry.failed.items()):
        print(f"FAILED plugin '{plugin}': {error}")
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


def _run_named(kind: str, name: str | None, argv: Sequence[str]) -> int:
    registry = get_registry()
    if name is None:
        names = [c.name for c in registry.components(kind)]
        print(f"available {kind}s: {', '.join(names) or 'none'} (run `deq {kind} NAME`)")
        return 0
    return int(registry.get(kind, name).obj(list(argv)) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, including sub-commands from installed plugins."""
    parser = argparse.ArgumentParser(prog="deq", description="Deep equilibrium models for imaging inverse problems.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list installed components and the distribution providing each")
    p.add_argument("--kind", choices=("operator", "prior", "solver", "model", "demo", "bench", "experiment"))
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("info", help="show a component's documentation and signature")
    p.add_argument("name")
    p.add_argument("--kind", choices=("operator", "prior", "solver", "model", "demo", "bench", "experiment"))
    p.set_defaults(func=_cmd_info)
    for kind, text in (("demo", "run a demo (no NAME: list them)"), ("bench", "run a benchmark (no NAME: list them)")):
        p = sub.add_parser(kind, help=text, add_help=False)
        p.add_argument("name", nargs="?")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=lambda a, kind=kind: _run_named(kind, a.name, a.rest))
    hook = get_registry().pm.hook
    p = sub.add_parser("reconstruct", help="reconstruct your own measurements (problems come from installed plugins)")
    hook.deq_reconstruct_commands(subparsers=p.add_subparsers(dest="problem", required=True, metavar="PROBLEM"))
    hook.deq_cli_commands(subparsers=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deq`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
