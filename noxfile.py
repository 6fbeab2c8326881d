"""nox sessions: demo (the main job), tests, bench, lint, docs.

Torch is pinned here (never in the packages). No deq distribution needs torchvision, so the demo and the docs
take the small CPU build of torch 2.13.0 (1.1 GB); the sessions that install DeepInverse (tests, bench) take the
torch 2.14.1 / torchvision 0.29.1 pair (5.5 GB) in the same pip command, so no package can swap torch behind
our back.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

CPU_TORCH = ("torch==2.13.0",)
TORCH = ("torch==2.14.1", "torchvision==0.29.1")
PACKAGES = (
    "./packages/deq-core",
    "./packages/deq-operators[all]",
    "./packages/deq-priors",
    "./packages/deq-models-sci",
    "./packages/deq-models-hsi",
    "./packages/deq-models-luser",
    "./packages/deq-models-mismatch",
)


def _install_all(session: nox.Session, *extra: str, torch: tuple[str, ...] = TORCH) -> None:
    session.install(*torch, *PACKAGES, *extra)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on embedded data: video SCI with GAP-TV, PnP-GAP and DE-GAP (`deq demo sci`)."""
    _install_all(session, torch=CPU_TORCH)
    session.run("deq", "demo", "sci", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Every distribution in one environment, tests/ whole (tox runs them package by package)."""
    _install_all(session, "pytest>=8", "hatchling>=1.18", "scikit-image>=0.21", "deepinv==0.5.0", "PyWavelets>=1.4")
    session.run("pytest", "tests", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark (benchmarks/run.py): the peer comparisons in benchmarks/ and the `deq bench` experiments of
    the installed distributions, each writing its section of docs/benchmarks.md; posargs select them by name
    (`nox -s bench -- core priors`). Peers (TorchDEQ, DeepInverse) are installed here only: they are references,
    not dependencies."""
    _install_all(session, "deepinv==0.5.0", "PyWavelets>=1.4", "bm3d>=4.0")
    session.install("--no-deps", "torchdeq==0.1.0")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the packages, tests, examples, benchmarks and this file."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", "packages", "tests", "examples", "noxfile.py", "benchmarks")
    session.run("ruff", "format", "--check", "packages", "tests", "examples", "noxfile.py", "benchmarks")


@nox.session
def docs(session: nox.Session) -> None:
    """Regenerate docs/components.md from the plugin registry (every installed component, its kind,
    distribution and summary) so the reference never drifts from the code."""
    _install_all(session, torch=CPU_TORCH)
    session.run("python", "docs/make_components.py")
