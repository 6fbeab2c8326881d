"""Helpers shared by every package's benchmarks: timing, peak memory and writing result sections
into ``docs/benchmarks.md``.

Each benchmark owns one section of the file, delimited by ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; re-running a benchmark replaces only its own section, so packages can be
benchmarked independently. The file is always the one the command is told (``--out``), or by default the
checkout's ``docs/benchmarks.md`` (:func:`results_file`), never a path relative to the current directory.
"""

from __future__ import annotations

import gc
import os
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from deq.core.data import find_checkout
from deq.core.errors import DeqError


def median_time(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time (seconds) of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory(fn: Callable[[], Any], device: str | torch.device = "cpu") -> int:
    """Peak memory in bytes allocated while ``fn()`` runs.

    On CUDA: ``torch.cuda.max_memory_allocated`` above the starting level. On CPU: the running peak of
    the allocations and frees recorded by ``torch.profiler`` (``profile_memory=True``), replayed in time
    order; it counts tensor storage only (not Python objects), and only what ``fn`` allocates.
    """
    device = torch.device(device)
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(device) - start
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage  # self: each allocation/free counted once
        peak = max(peak, current)
    return peak


def python_peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes of Python-level allocations (numpy included) during ``fn()``, by tracemalloc."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def results_file(out: str | os.PathLike[str] | None = None) -> Path:
    """The benchmark results file: ``out`` when given, else ``docs/benchmarks.md`` of the deq checkout that deq-core
    is installed from (:func:`deq.core.data.find_checkout`).

    Raises:
        DeqError: no ``out`` and deq-core is not installed from a checkout (e.g. a wheel in site-packages).
    """
    if out is not None:
        return Path(out)
    checkout = find_checkout()
    if checkout is None:
        raise DeqError(
            "deq-core is not installed from a deq checkout, so there is no docs/benchmarks.md to write to; pass --out PATH"
        )
    return checkout / "docs" / "benchmarks.md"


def command_line(prog: str, argv: Sequence[str]) -> str:
    """The command recorded above a results section: ``prog`` and ``argv`` without ``--out PATH`` (where the
    results were written is not how they were made, and a machine's absolute path does not belong in the docs)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            kept.append(arg)
    return " ".join([prog, *kept])


def write_section(name: str, markdown: str, path: str | os.PathLike[str]) -> Path:
    """Replace (or append) the section ``name`` of the benchmark results file ``path`` with ``markdown``."""
    path = Path(path)
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    header = "# Benchmarks\n\nEvery table below was produced by the command written above it.\n"
    text = path.read_text() if path.exists() else header
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
