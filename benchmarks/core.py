"""deq-core against TorchDEQ (Geng & Kolter 2023), side by side in one process: ``python benchmarks/core.py``
(or ``nox -s bench -- core``), which writes the ``core`` section of docs/benchmarks.md.

Two problems, the same inputs for both libraries, float32:

1. a linear contraction ``z = a K z + b`` with ``10^5`` unknowns per sample (``[2, 1, 316, 316]``), ``K`` the
   4-neighbour average on the periodic grid (eigenvalues ``(cos t1 + cos t2) / 2`` fill ``[-1, 1]``) and
   ``a = 0.95``, so the map's spectral radius is 0.95 and plain iteration would need ~225 steps for 1e-5;
2. a convolutional DEQ ``z = tanh(W * z + U * x)``, batch 16, 32 channels, 32x32, ``x`` with 3 channels,
   ``W = 0.95 W_raw / sigma(W_raw)`` spectrally normalised by the *operator* norm of the 3x3 convolution
   (power iteration on the zero-padded conv), so ``||J_f|| <= 0.95``. ``W_raw`` is a random kernel made
   self-adjoint (``w[o, i, dy, dx] = w[i, o, -dy, -dx]``, as in gradient-step maps ``z - eta A^T A z``), so its
   spectral radius equals its norm and the solvers face eigenvalues near +-0.95 (a random non-symmetric
   kernel of the same norm has a much smaller spectral radius and converges in ~12 steps).

Each is solved with Anderson and Broyden to relative residual ``||f(z) - z|| / ||f(z)|| <= 1e-5`` and
differentiated by the implicit function theorem, the adjoint fixed point ``a = J_f^T a + g`` solved to
relative residual 1e-6 with the same solver. Reported per library: map evaluations in the forward pass and
vector-Jacobian products in the backward pass (counted by an identity autograd function placed inside
``f``, the same for both), wall time of the forward pass (training mode, graph set-up included) and of
forward+backward (medians, runs of the two libraries interleaved so load from other jobs hits both alike),
peak memory of forward+backward (:func:`deq.core.bench.peak_memory`), the reached residual and the relative
difference of the fixed points and gradients between the libraries.

A second table checks the memory claim of :class:`deq.core.DEQ`: peak memory of one forward+backward at
``max_iter`` 10 and 200 (tolerance set out of reach so every iteration runs) against autograd unrolled
through every iteration.

TorchDEQ is a peer, not a dependency of deq: it is imported lazily and the benchmark stops with a clear message
when it is missing (``pip install torchdeq==0.1.0``; ``nox -s bench`` installs it).
"""

from __future__ import annotations

import argparse
import functools
import platform
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from deq.core.bench import command_line, markdown_table, median_time, peak_memory, write_section
from deq.core.cg import batch_norm2
from deq.core.deq import DEQ
from deq.core.jacobian import jacobian_spectral_norm

FWD_TOL, BWD_TOL = 1e-5, 1e-6
JACOBIAN_STEPS = 300  # power steps, no early stop: fewer read low when the top singular values are close
COMMAND = "python benchmarks/core.py"
#: the results file this script writes by default: the docs of the checkout it belongs to
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

_COUNTS = {"f": 0, "vjp": 0}


class _Count(torch.autograd.Function):
    """Identity that counts its calls: forward = map evaluations, backward = vector-Jacobian products."""

    @staticmethod
    def forward(ctx: Any, z: Tensor) -> Tensor:
        _COUNTS["f"] += 1
        return z.view_as(z)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        _COUNTS["vjp"] += 1
        return grad


def rel_diff(a: Tensor, b: Tensor) -> float:
    """``||a - b|| / ||b||``."""
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


@dataclass
class Problem:
    """A fixed-point problem ``z = f(z, *inputs)`` with a linear loss ``<target, z>``.

    ``make_inputs()`` builds the injected inputs from the leaves (with a graph, once per training step);
    ``leaves`` are the tensors whose gradients are compared between libraries.
    """

    name: str
    f: Callable[..., Tensor]
    make_inputs: Callable[[], tuple[Tensor, ...]]
    z0: Tensor
    target: Tensor
    leaves: dict[str, Tensor]
    note: str = ""

    def counted_f(self, z: Tensor, *inputs: Tensor) -> Tensor:
        return self.f(_Count.apply(z), *inputs)

    def loss(self, z: Tensor) -> Tensor:
        return (z * self.target).sum()

    def residual(self, z: Tensor) -> float:
        """Largest per-sample ``||f(z) - z|| / ||f(z)||``."""
        with torch.no_grad():
            fz = self.f(z, *self.make_inputs())
            return float((batch_norm2(fz - z) / batch_norm2(fz)).max())


def linear_problem(size: int = 316, batch: int = 2, a: float = 0.95, seed: int = 0) -> Problem:
    """``z = a K z + b``, ``K`` the periodic 4-neighbour average; ``[batch, 1, size, size]``."""
    gen = torch.Generator().manual_seed(seed)
    a_leaf = torch.tensor(a, requires_grad=True)
    b_leaf = torch.randn(batch, 1, size, size, generator=gen).requires_grad_()

    def f(z: Tensor, a_: Tensor, b_: Tensor) -> Tensor:
        k_z = z.roll(1, -1) + z.roll(-1, -1) + z.roll(1, -2) + z.roll(-1, -2)  # 4 * K z, periodic
        return (0.25 * a_) * k_z + b_

    return Problem(
        name=f"linear z = a K z + b, {size * size:,} unknowns x batch {batch}",
        f=f,
        make_inputs=lambda: (a_leaf, b_leaf),
        z0=torch.zeros(batch, 1, size, size),
        target=torch.randn(batch, 1, size, size, generator=gen),
        leaves={"a": a_leaf, "b": b_leaf},
        note=f"spectral radius {a}",
    )


def conv_operator_norm_vector(w: Tensor, shape: tuple[int, ...], n_iter: int = 100) -> Tensor:
    """Unit top right singular vector ``v`` of ``z -> conv2d(z, w, padding=1)`` on ``[1, *shape]``."""
    v = torch.randn(1, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for _ in range(n_iter):
            v = F.conv_transpose2d(F.conv2d(v, w, padding=1), w, padding=1)
            v = v / v.norm()
    return v


def conv_problem(
    batch: int = 16, channels: int = 32, size: int = 32, in_channels: int = 3, rho: float = 0.95, seed: int = 0
) -> Problem:
    """``z = tanh(W * z + U * x)`` with ``W = rho W_raw / ||conv_{W_raw}||`` (operator norm, spectral normalization)."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(channels, channels, 3, 3, generator=gen) / (3 * channels**0.5)
    w_raw = (0.5 * (w + w.transpose(0, 1).flip(2, 3))).requires_grad_()  # self-adjoint conv: radius = norm
    u = (0.1 * torch.randn(channels, in_channels, 3, 3, generator=gen) / in_channels**0.5).requires_grad_()
    x = torch.randn(batch, in_channels, size, size, generator=gen)
    v = conv_operator_norm_vector(w_raw.detach(), (channels, size, size))

    def make_inputs() -> tuple[Tensor, Tensor]:
        sigma = F.conv2d(v, w_raw, padding=1).norm()  # sigma(W_raw) = ||conv(v)||, v the top singular vector
        return F.conv2d(x, u, padding=1), rho * w_raw / sigma

    def f(z: Tensor, ux: Tensor, w: Tensor) -> Tensor:
        return torch.tanh(F.conv2d(z, w, padding=1) + ux)

    return Problem(
        name=f"conv DEQ tanh(W*z + U*x), batch {batch}, {channels}x{size}x{size}",
        f=f,
        make_inputs=make_inputs,
        z0=torch.zeros(batch, channels, size, size),
        target=torch.randn(batch, channels, size, size, generator=gen) / (channels * size * size) ** 0.5,
        leaves={"W": w_raw, "U": u},
        note=f"||W||_op = {rho}",
    )


# Solver options. Anderson: history 6 (TorchDEQ's default) for both; deq-core's lam is its default (relative
# to the Gram diagonal, floored at 10 machine epsilons: about 1.2e-6 in float32). TorchDEQ's lam is absolute
# (default 1e-4): with residuals near 1e-5 it dominates the Gram matrix and Anderson degrades towards plain
# iteration, so the compared TorchDEQ run uses lam 1e-12 (tuned: the fewest iterations on both problems among
# 1e-4 .. 1e-12) and its default is reported alongside. Broyden: each library's default memory (deq-core a
# sliding window of the last 30 pairs; TorchDEQ max_iter pairs).
OURS_OPTIONS: dict[str, dict[str, Any]] = {"anderson": {"m": 6}, "broyden": {}}
THEIRS_TUNED_LAM = 1e-12


def ours_step(
    problem: Problem,
    solver: str,
    max_iter: int,
    b_max_iter: int,
    tol: float = FWD_TOL,
    recompute: bool = False,
    options: dict[str, Any] | None = None,
) -> Callable:
    """One training step with deq-core's DEQ: ``fn(backward) -> (z, iters_fwd, iters_bwd, evals_fwd)``;
    ``recompute``: ``f(z*)`` is evaluated again in the backward pass instead of stored (``SolverConfig.recompute``);
    ``options``: solver options instead of ``OURS_OPTIONS[solver]``."""
    opts = OURS_OPTIONS[solver] if options is None else options
    deq = DEQ(
        problem.counted_f,
        solver=solver,
        tol=tol,
        max_iter=max_iter,
        solver_options=opts,
        backward_tol=BWD_TOL,
        backward_max_iter=b_max_iter,
        backward_solver_options=opts,
        recompute=recompute,
    )

    def step(backward: bool) -> tuple[Tensor, int, int, int]:
        _COUNTS.update(f=0, vjp=0)
        z, info = deq(problem.z0, *problem.make_inputs())
        nfe, b_iters = _COUNTS["f"], 0
        if backward:
            problem.loss(z).backward()
            b_iters = int(info.backward.nstep.max())
        return z.detach(), int(info.nstep.max()), b_iters, nfe

    return step


def theirs_solver(solver: str, lam: float | None) -> str:
    """TorchDEQ solver name; Anderson with a given ``lam`` is registered under its own name (TorchDEQ passes
    no solver options to its backward solver, so registering is the way to set them for both passes)."""
    if solver != "anderson" or lam is None:
        return solver
    from torchdeq.solver import anderson_solver, register_solver

    name = f"anderson_lam{lam:g}"
    register_solver(name, functools.partial(anderson_solver, m=6, lam=lam))
    return name


def theirs_step(
    problem: Problem,
    solver: str,
    max_iter: int,
    b_max_iter: int,
    tol: float = FWD_TOL,
    lam: float | None = THEIRS_TUNED_LAM,
) -> Callable:
    """The same step with TorchDEQ's ``DEQIndexing`` (IFT backward, its default autograd.Function form)."""
    from torchdeq.core import DEQIndexing

    name = theirs_solver(solver, lam)
    deq = DEQIndexing(
        f_solver=name,
        b_solver=name,
        f_max_iter=max_iter,
        b_max_iter=b_max_iter,
        f_tol=tol,
        b_tol=BWD_TOL,
        f_stop_mode="rel",
        b_stop_mode="rel",
        ift=True,
    ).train()
    opts = {"m": 6} if solver == "anderson" else {}
    b_info: list[Any] = []

    def step(backward: bool) -> tuple[Tensor, int, int, int]:
        _COUNTS.update(f=0, vjp=0)
        inputs = problem.make_inputs()
        b_info.clear()
        z_out, info = deq(
            lambda z: problem.counted_f(z, *inputs), problem.z0, solver_kwargs=dict(opts), backward_writer=b_info.append
        )
        z = z_out[-1]
        nfe, b_iters = _COUNTS["f"], 0
        if backward:
            problem.loss(z).backward()
            b_iters = int(b_info[-1]["nstep"].max())
        return z.detach(), int(info["nstep"].max()), b_iters, nfe

    return step


@dataclass
class Measured:
    """One library on one problem and solver."""

    nfe: int = 0
    vjp: int = 0
    iters: tuple[int, int] = (0, 0)
    residual: float = 0.0
    z: Tensor | None = None
    grads: dict[str, Tensor] = field(default_factory=dict)
    t_fwd: list[float] = field(default_factory=list)
    t_fwdbwd: list[float] = field(default_factory=list)
    memory: int | None = None


def measure_once(problem: Problem, step: Callable) -> Measured:
    """Counts, residual, fixed point and gradients of one forward+backward (also the warm-up run)."""
    for leaf in problem.leaves.values():
        leaf.grad = None
    z, it_f, it_b, nfe = step(True)
    m = Measured(nfe=nfe, vjp=_COUNTS["vjp"], iters=(it_f, it_b), residual=problem.residual(z), z=z)
    m.grads = {k: v.grad.detach().clone() for k, v in problem.leaves.items()}
    return m


def compare(steps: dict[str, Callable], extra: dict[str, Callable], problem: Problem, repeats: int) -> dict[str, Measured]:
    """Counts, interleaved timings and peak memory for the libraries in ``steps``; for those in ``extra``
    (reported for context) counts and one timed forward+backward only."""
    out = {lib: measure_once(problem, step) for lib, step in steps.items()}
    for _ in range(repeats):  # interleaved: ours, theirs, ours, theirs, ...
        for lib, step in steps.items():
            out[lib].t_fwd.append(median_time(lambda s=step: s(False), repeats=1, warmup=0))
        for lib, step in steps.items():
            out[lib].t_fwdbwd.append(median_time(lambda s=step: s(True), repeats=1, warmup=0))
    for lib, step in steps.items():
        out[lib].memory = peak_memory(lambda s=step: s(True))
    for lib, step in extra.items():  # one run: warm already (same solver code), timed while counting
        held: list[Measured] = []
        t = median_time(lambda h=held, s=step: h.append(measure_once(problem, s)), repeats=1, warmup=0)
        out[lib] = held[0]
        out[lib].t_fwdbwd.append(t)
    for leaf in problem.leaves.values():
        leaf.grad = None
    return out


def speed_table(results: list[tuple[Problem, str, dict[str, Measured]]]) -> tuple[str, list[str]]:
    """The side-by-side table and the list of missed targets."""
    header = [
        "problem",
        "solver",
        "library",
        "f evals fwd",
        "VJPs bwd",
        "solver iters fwd/bwd",
        "rel. residual",
        "fwd [s]",
        "fwd+bwd [s]",
        "peak mem fwd+bwd [MiB]",
    ]
    rows: list[list[Any]] = []
    ratio_rows: list[list[Any]] = []
    missed: list[str] = []
    for problem, solver, res in results:
        for lib, m in res.items():
            rows.append(
                [
                    problem.name,
                    solver,
                    lib,
                    m.nfe,
                    m.vjp,
                    f"{m.iters[0]}/{m.iters[1]}",
                    f"{m.residual:.1e}",
                    f"{statistics.median(m.t_fwd):.3f}" if m.t_fwd else "-",
                    f"{statistics.median(m.t_fwdbwd):.3f}" + ("" if m.t_fwd else " (1 run)"),
                    f"{m.memory / 2**20:.1f}" if m.memory is not None else "-",
                ]
            )
        if "TorchDEQ" not in res:
            continue
        o, t = res["deq-core"], res["TorchDEQ"]
        r_fwd = statistics.median(o.t_fwd) / statistics.median(t.t_fwd)
        r_fb = statistics.median(o.t_fwdbwd) / statistics.median(t.t_fwdbwd)
        r_mem = o.memory / max(t.memory, 1)
        z_diff = rel_diff(o.z, t.z)
        g_diff = max(rel_diff(o.grads[k], t.grads[k]) for k in o.grads)
        ratio_rows.append(
            [
                problem.name,
                solver,
                f"{o.nfe}/{t.nfe}",
                f"{o.vjp}/{t.vjp}",
                f"{r_fwd:.2f}",
                f"{r_fb:.2f}",
                f"{r_mem:.2f}",
                f"{z_diff:.1e}",
                f"{g_diff:.1e}",
            ]
        )
        tag = f"{problem.name.split(',')[0]} / {solver}"
        if r_fb > 0.8:
            missed.append(f"{tag}: forward+backward time ratio {r_fb:.2f} > 0.8")
        if o.nfe > t.nfe or o.vjp > t.vjp:
            missed.append(f"{tag}: more evaluations than TorchDEQ (fwd {o.nfe} vs {t.nfe}, bwd {o.vjp} vs {t.vjp})")
        if r_mem > 1.0:
            missed.append(f"{tag}: peak memory ratio {r_mem:.2f} > 1")
    ratio_header = [
        "problem",
        "solver",
        "f evals ours/theirs",
        "VJPs ours/theirs",
        "fwd time ratio",
        "fwd+bwd time ratio",
        "memory ratio",
        "rel. diff z*",
        "rel. diff grad (max)",
    ]
    text = markdown_table(header, rows)
    if ratio_rows:
        text += "\n\nRatios ours/TorchDEQ (target: time <= 0.8, evaluations and memory <= 1):\n\n"
        text += markdown_table(ratio_header, ratio_rows)
    return text, missed


def unrolled_step(problem: Problem, n_iter: int) -> Callable:
    """Autograd through ``n_iter`` plain iterations ``z <- f(z)`` (the baseline whose memory grows)."""

    def step(backward: bool) -> tuple[Tensor, int, int, int]:
        inputs = problem.make_inputs()
        z = problem.z0
        for _ in range(n_iter):
            z = problem.f(z, *inputs)
        if backward:
            problem.loss(z).backward()
        return z.detach(), n_iter, 0, n_iter

    return step


def memory_table(problem: Problem, b_max_iter: int) -> tuple[str, list[str]]:
    """Peak memory of one forward+backward at max_iter 10 and 200 (every iteration runs: tol 1e-30)."""
    runs: list[tuple[str, Callable[[int], Callable]]] = [
        ("deq-core DEQ, anderson", lambda k: ours_step(problem, "anderson", k, b_max_iter, tol=1e-30)),
        ("deq-core DEQ, broyden", lambda k: ours_step(problem, "broyden", k, b_max_iter, tol=1e-30)),
        (
            "deq-core DEQ, anderson, recompute",
            lambda k: ours_step(problem, "anderson", k, b_max_iter, tol=1e-30, recompute=True),
        ),
        ("TorchDEQ, anderson", lambda k: theirs_step(problem, "anderson", k, b_max_iter, tol=1e-30)),
        ("TorchDEQ, broyden", lambda k: theirs_step(problem, "broyden", k, b_max_iter, tol=1e-30)),
        ("unrolled autograd (fixed-point iteration)", lambda k: unrolled_step(problem, k)),
    ]
    rows, missed = [], []
    for label, make in runs:
        mem, iters = [], []
        for k in (10, 200):
            step = make(k)
            mem.append(peak_memory(lambda it=iters, s=step: it.append(s(True)[1])))
        ratio = mem[1] / mem[0]
        rows.append([label, f"{iters[0]}/{iters[1]}", f"{mem[0] / 2**20:.1f}", f"{mem[1] / 2**20:.1f}", f"{ratio:.2f}"])
        if label.startswith("deq-core") and abs(ratio - 1) > 0.10:
            missed.append(f"memory {label}: max_iter 200 / 10 = {ratio:.2f} (must be within 10 %)")
    for leaf in problem.leaves.values():
        leaf.grad = None
    header = ["method", "iterations run (10 / 200)", "peak MiB, max_iter 10", "peak MiB, max_iter 200", "ratio 200/10"]
    return markdown_table(header, rows), missed


def machine() -> str:
    """CPU, torch version and threads, for the report."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import os

    return (
        f"{cpu}, {os.cpu_count()} logical CPUs (shared with other jobs), torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables and write the ``core`` section of the results file (``--out``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog=COMMAND, description="deq-core against TorchDEQ.")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per library (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--max-iter", type=int, default=100, help="forward and backward max iterations")
    parser.add_argument("--quick", action="store_true", help="small problems (smoke test, not for the docs)")
    parser.add_argument("--only", choices=("linear", "conv"), help="run one problem of the speed table")
    parser.add_argument("--skip-memory", action="store_true", help="skip the max_iter 10 vs 200 memory table")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        import torchdeq  # noqa: F401
    except ImportError:
        print(
            f"{COMMAND}: TorchDEQ is not installed; it is the peer this benchmark compares against and is "
            "not a dependency of deq-core. Install it with `pip install torchdeq==0.1.0` (nox -s bench does).",
            file=sys.stderr,
        )
        return 2
    if args.quick:
        problems = [linear_problem(size=64), conv_problem(batch=2, channels=8, size=16)]
        mem_problem = problems[-1]
    else:
        problems = [linear_problem(), conv_problem()]
        mem_problem = conv_problem(batch=4)
    results = []
    for problem in [p for p, key in zip(problems, ("linear", "conv")) if args.only in (None, key)]:
        for solver in ("anderson", "broyden"):
            print(f"[bench core] {problem.name} / {solver} ...", flush=True)
            steps = {
                "deq-core": ours_step(problem, solver, args.max_iter, args.max_iter),
                "TorchDEQ": theirs_step(problem, solver, args.max_iter, args.max_iter),
            }
            extra = {}
            if solver == "anderson":
                extra["TorchDEQ, default lam 1e-4"] = theirs_step(problem, solver, args.max_iter, args.max_iter, lam=None)
            else:
                extra[f"deq-core, window {args.max_iter} (every pair, as TorchDEQ)"] = ours_step(
                    problem, solver, args.max_iter, args.max_iter, options={"m": args.max_iter}
                )
            results.append((problem, solver, compare(steps, extra, problem, args.repeats)))
        z_star = results[-2][2]["deq-core"].z[:2]
        with torch.no_grad():
            inputs = tuple(x[:2] if x.shape == problem.z0.shape else x for x in problem.make_inputs())
        j_norm = float(jacobian_spectral_norm(problem.f, z_star, *inputs, n_iter=JACOBIAN_STEPS, tol=0.0).max())
        problem.note += f", measured ||J_f(z*)|| = {j_norm:.3f} ({JACOBIAN_STEPS} power steps, a lower bound; 2 samples)"
    speed, missed = speed_table(results)
    print(speed, flush=True)
    mem = ""
    if not args.skip_memory:
        print("[bench core] memory at max_iter 10 vs 200 ...", flush=True)
        mem, mem_missed = memory_table(mem_problem, b_max_iter=args.max_iter)
        missed += mem_missed
        print(mem)
    verdict = "All targets met." if not missed else "Targets missed:\n\n" + "\n".join(f"- {m}" for m in missed)
    print(verdict)
    if not args.no_write:
        notes = "\n".join(f"Problem notes: {p.name}: {p.note}." for p in problems)
        md = f"""## deq-core vs TorchDEQ

Command: `{command_line(COMMAND, argv)}` (equivalently `nox -s bench -- core`).
Machine: {machine()}. TorchDEQ {torchdeq.__version__ if hasattr(torchdeq, "__version__") else "0.1.0"}.

Both libraries run in one process on the same problems, inputs and map `f` (float32): forward to relative
residual `||f(z)-z|| / ||f(z)||` <= {FWD_TOL:g}, implicit (IFT) backward with the same solver to {BWD_TOL:g},
max_iter {args.max_iter} both ways. Anderson: history 6 for both; regularisation deq-core's default (relative
to the Gram diagonal, floored at 10 machine epsilons), TorchDEQ lam {THEIRS_TUNED_LAM:g} absolute
(tuned: its default 1e-4 swamps the Gram matrix at these residuals; the default is shown in the row marked
"default lam"). Broyden: each library's default memory
(deq-core a sliding window of the last 30 `(dz, dr)` pairs, `2 x 30` copies of `z`; TorchDEQ keeps every pair up to
max_iter): a solve longer than 30 steps runs on fewer pairs in deq-core, which can cost evaluations and saves
memory; the row "window {args.max_iter}" is deq-core with TorchDEQ's policy (`m = max_iter`, one run, for the
evaluation counts). "f evals" and "VJPs" are counted by
an identity autograd function inside `f` (the same for both; TorchDEQ's f evals exclude the one it recomputes in
backward); "solver iters" are what each library reports. Times are medians of {args.repeats} interleaved runs;
"fwd" is the training-mode forward (solve + graph set-up); memory is the peak tensor memory of one
forward+backward (`deq.core.bench.peak_memory`, torch profiler); "rel. residual" is recomputed from the
returned `z`. "rel. diff" compares the two libraries' fixed points and gradients (loss `<target, z*>`).
{notes}

{speed}
"""
        if mem:
            md += f"""
Memory of one forward+backward of the conv DEQ (training step) against max_iter, with the forward
tolerance set out of reach (1e-30) so every iteration runs; backward as above. deq-core must stay within
10 %; autograd through the unrolled iteration grows linearly. "recompute": deq-core's
`SolverConfig(recompute=True)`, which keeps only `z*` and the inputs and evaluates `f(z*)` again in the backward
pass (TorchDEQ and deq-core's default store the graph of one application of `f`). On this one-convolution
map the peak is set by the solvers' Anderson histories, so recompute does not lower it here; it pays off when `f`
is deep (LUSER's blocks: 3.9x -> 19-22x less memory than LU-DnCNN, docs/luser.md).

{mem}
"""
        md += f"\n{verdict}\n"
        print(f"wrote section 'core' of {write_section('core', md, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
