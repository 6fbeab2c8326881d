"""Run the benchmarks: the peer comparisons in this folder (``benchmarks/NAME.py``) and the experiments the
installed deq distributions register as ``deq bench NAME``. ``nox -s bench`` runs this script.

    python benchmarks/run.py                 # every benchmark
    python benchmarks/run.py core sci        # only these
    python benchmarks/run.py --list          # what there is

Each benchmark runs in its own process, so a failure or a thread setting in one does not touch the others,
with ``--out`` set to this checkout's ``docs/benchmarks.md`` (each writes its own section there). The exit
status is 1 when any of them failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "docs" / "benchmarks.md"


def scripts() -> dict[str, list[str]]:
    """``name -> command`` of every benchmark script in this folder (every ``*.py`` but this one and ``_*.py``)."""
    return {
        path.stem: [sys.executable, str(path)]
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name and not path.name.startswith("_")
    }


def registered() -> dict[str, list[str]]:
    """``name -> command`` of every ``deq bench NAME`` experiment the installed distributions register."""
    from deq.core.registry import components

    return {c.name: [sys.executable, "-m", "deq.core.cli", "bench", c.name] for c in components("bench")}


def benchmarks() -> dict[str, list[str]]:
    """Every benchmark, scripts first; a name that is both a script and a registered experiment is an error."""
    ours, installed = scripts(), registered()
    both = sorted(ours.keys() & installed.keys())
    if both:
        raise SystemExit(
            f"benchmarks/run.py: {', '.join(both)}: both a script in {HERE} and a registered `deq bench` "
            "experiment; rename one so that each name means one benchmark"
        )
    return {**ours, **installed}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (all by default); returns 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python benchmarks/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their commands, run nothing")
    args = parser.parse_args(argv)
    table = benchmarks()
    unknown = sorted(set(args.names) - table.keys())
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; there are: {', '.join(table)}")
    if args.list:
        for name, command in table.items():
            print(f"{name}: {' '.join(command)}")
        return 0
    failed = []
    for name in args.names or table:
        command = [*table[name], "--out", str(args.out)]
        print(f"=== {name}: {' '.join(command)}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
