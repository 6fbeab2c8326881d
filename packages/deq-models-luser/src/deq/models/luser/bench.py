"""``deq bench luser``: the paper's experiments with this package's models, written to the ``luser`` section of
docs/benchmarks.md (or ``--out``) with the reconstruction figure beside it.

1. Table 2 counterpart: test PSNR / SSIM per task of every shipped model (final loss, and auxiliary loss where
   shipped), beside the start ``x_0`` and the paper's values (labelled: other data, other image sizes).
2. Table 3 counterpart: parameter counts, and the peak tensor memory of one training step (forward + backward)
   per sample for each model and task at one image size (CPU: deq-core's profiler-based ``peak_memory`` at batch
   1 and 4, per sample = the slope), the batch that fits in 8 / 10 / 24 GB at that size, and the ratios.
3. Table 4 made numeric: seconds per training step and per reconstruction, and the number of ``A`` / ``A^T``
   applications per reconstruction (counted by wrapping the operator).
4. Fig. 2 counterpart: the first test image of each task, ``x_0`` and three reconstructions (PNG).
"""

from __future__ import annotations

import argparse
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deq.core.bench import command_line, markdown_table, median_time, peak_memory, results_file, write_section
from deq.core.errors import WeightsError
from deq.core.plots import save_image_grid
from deq.core.solvers import SolverNotConvergedWarning
from deq.models.luser.counting import count_calls
from deq.models.luser.data import load_test_set
from deq.models.luser.models import FACTORIES, set_solver_settings
from deq.models.luser.tasks import get_task
from deq.models.luser.train import evaluate
from deq.models.luser.weights import shipped

MODELS = ("lu-dncnn", "deq4ip", "luser-sw", "luser-dw")
LABELS = {"lu-dncnn": "LU-DnCNN", "deq4ip": "DEQ4IP", "luser-sw": "LUSER-SW", "luser-dw": "LUSER-DW"}
#: the measurements of the test images are simulated with masks and noise from this seed
TEST_SEED = 2_000_000_000
#: LUSER Table 2 (PSNR, SSIM) on CelebA / LoDoPaB-CT / fastMRI knees: (model, loss) -> values
PAPER = {
    "deblur": {
        ("lu-dncnn", "final"): (29.93, 0.862),
        ("lu-dncnn", "aux"): (30.39, 0.871),
        ("deq4ip", "final"): (31.57, 0.895),
        ("luser-sw", "final"): (30.30, 0.869),
        ("luser-sw", "aux"): (30.65, 0.878),
        ("luser-dw", "final"): (31.40, 0.891),
        ("luser-dw", "aux"): (31.15, 0.888),
    },
    "ct": {
        ("lu-dncnn", "final"): (30.59, 0.844),
        ("lu-dncnn", "aux"): (31.59, 0.859),
        ("deq4ip", "final"): (31.79, 0.868),
        ("luser-sw", "final"): (28.82, 0.801),
        ("luser-sw", "aux"): (28.04, 0.797),
        ("luser-dw", "final"): (31.83, 0.860),
        ("luser-dw", "aux"): (31.66, 0.859),
    },
    "mri4x": {
        ("lu-dncnn", "final"): (29.01, 0.668),
        ("lu-dncnn", "aux"): (29.02, 0.671),
        ("deq4ip", "final"): (29.01, 0.678),
        ("luser-sw", "final"): (28.82, 0.662),
        ("luser-sw", "aux"): (29.18, 0.685),
        ("luser-dw", "final"): (29.86, 0.740),
        ("luser-dw", "aux"): (29.37, 0.713),
    },
    "mri8x": {
        ("lu-dncnn", "final"): (27.50, 0.576),
        ("lu-dncnn", "aux"): (27.65, 0.572),
        ("deq4ip", "final"): (27.51, 0.570),
        ("luser-sw", "final"): (27.42, 0.562),
        ("luser-sw", "aux"): (27.42, 0.560),
        ("luser-dw", "final"): (28.06, 0.630),
        ("luser-dw", "aux"): (27.55, 0.596),
    },
}
PAPER_DATA = {"deblur": "CelebA", "ct": "LoDoPaB-CT", "mri4x": "fastMRI 4x", "mri8x": "fastMRI 8x"}
#: LUSER Table 3: parameters and the largest batch in 8 / 10 / 24 GB ("-": batch 1 does not fit)
PAPER_TABLE3 = {
    "deblur": {
        "lu-dncnn": (558_580, 1, 1, 4),
        "deq4ip": (558_580, 16, 16, 68),
        "luser-sw": (96_503, 10, 14, 34),
        "luser-dw": (770_073, 10, 14, 34),
    },
    "ct": {
        "lu-dncnn": (556_033, "-", "-", 2),
        "deq4ip": (556_033, 4, 6, 20),
        "luser-sw": (93_954, 2, 4, 10),
        "luser-dw": (751_625, 2, 4, 10),
    },
    "mri": {
        "lu-dncnn": (557_185, "-", 2, 4),
        "deq4ip": (557_185, 4, 6, 16),
        "luser-sw": (95_107, 4, 4, 12),
        "luser-dw": (760_849, 4, 4, 12),
    },
}
BUDGETS_GB = (8, 10, 24)
#: the equilibrium models also measured with ``recompute=True`` (``f(z*)`` evaluated again in the backward pass)
RECOMPUTED = ("luser-sw", "luser-dw")
#: the per-sample memory ratios reported (LU-DnCNN over each)
RATIO_COLUMNS = ("luser-sw", "luser-dw", "luser-sw+recompute", "luser-dw+recompute", "deq4ip")
#: the paper's training-memory ratio LU-DnCNN / LUSER (24 GB batch sizes of Table 3): the targets
PAPER_RATIO = {"deblur": 34 / 4, "ct": 10 / 2, "mri": 12 / 4}


def trained_models() -> dict[tuple[str, str, str], nn.Module]:
    """Every shipped model, ``{(model, task, loss): module}`` (eval mode)."""
    from deq.core.weights import load_weights

    out = {}
    for (model, task, loss), path in shipped().items():
        out[(model, task, loss)] = load_weights(path, kind="model", name=model)
    return out


def _trained_for(module: nn.Module) -> str:
    prov = getattr(module, "provenance", {})
    return f"{prov.get('steps', '?')} steps x {prov.get('batch', '?')}, {prov.get('wall_seconds', 0) / 60:.1f} min"


def _size_of(module: nn.Module) -> int:
    return int(module.provenance["options"]["size"])


def accuracy(
    models: dict[tuple[str, str, str], nn.Module], data_dir: str | None, limit: int | None, tasks: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """Section 1 (Table 2): test PSNR / SSIM; returns the table and ``{task: {"images", "x0", (model, loss): psnr}}``."""
    rows, results = [], {}
    for task in tasks:
        entries = sorted((k, m) for k, m in models.items() if k[1] == task)
        if not entries:
            continue
        size = _size_of(entries[0][1])
        images, names = load_test_set(task, size, data_dir, limit)
        t = get_task(task)
        res: dict[str, Any] = {"images": images}
        first = True
        for (model, _, loss), module in sorted(entries, key=lambda e: (MODELS.index(e[0][0]), e[0][2])):
            r = evaluate(module, t, images, TEST_SEED)
            res[(model, loss)] = r["psnr"]
            if first:
                rows.append((task, f"x_0 ({t.init})", "-", f"{r['psnr_x0']:.2f}", "-", "-", "-", "-"))
                first = False
            pp, ps = PAPER[task].get((model, loss), (None, None))
            rows.append(
                (
                    task,
                    LABELS[model],
                    loss,
                    f"{r['psnr']:.2f}",
                    f"{r['ssim']:.3f}",
                    f"{pp:.2f} / {ps:.3f}" if pp else "-",
                    f"{len(names)} x {size}x{size}",
                    _trained_for(module),
                )
            )
            print(f"  {task} {model} ({loss}): {r['psnr']:.2f} dB, SSIM {r['ssim']:.3f}", flush=True)
        results[task] = res
    header = [
        "task",
        "model",
        "loss",
        "PSNR (dB)",
        "SSIM",
        f"paper PSNR / SSIM ({', '.join(PAPER_DATA.values())})",
        "test images",
        "trained",
    ]
    return markdown_table(header, rows), results


def _training_step(model: nn.Module, task: str, size: int, batch: int):
    """One training step (forward + MSE + backward) of ``model`` on ``batch`` random images of ``task``."""
    t = get_task(task)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, t.image_channels, size, size, generator=g)
    op = t.operator(size, seeds=list(range(batch)))
    y = t.measure(images, op, g)
    x = t.to_model(images)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        out, _ = model(y, op)
        nn.functional.mse_loss(out, x).backward()

    return step


def _label(key: str) -> str:
    """``"luser-dw+recompute"`` -> ``"LUSER-DW (recompute)"``."""
    name, _, extra = key.partition("+")
    return LABELS[name] + (f" ({extra})" if extra else "")


def _fresh(name: str, task: str, recompute: bool = False) -> nn.Module:
    return set_solver_settings(FACTORIES[name](task=task).train(), warn_unconverged=False, recompute=recompute)


def training_memory(name: str, task: str, size: int, recompute: bool = False) -> tuple[float, float, int]:
    """Peak tensor memory of one training step of an untrained ``name`` on ``task`` at ``size`` x ``size``:
    ``(bytes per sample, fixed bytes, parameters)``, per sample = the slope between batch 1 and batch 4.
    ``recompute``: the equilibrium blocks evaluate ``f(z*)`` again in the backward pass instead of storing it
    (deq-core's ``SolverConfig.recompute``; same gradients)."""
    model = _fresh(name, task, recompute)
    params = sum(p.numel() for p in model.parameters())
    step1, step4 = _training_step(model, task, size, 1), _training_step(model, task, size, 4)
    step1()  # warm-up: lazily built tensors (spectral-norm vectors, converted operator weights)
    m1, m4 = peak_memory(step1), peak_memory(step4)
    slope = max((m4 - m1) / 3, 1.0)
    return slope, max(m1 - slope, 0.0), params


def memory(size: int, tasks: tuple[str, ...]) -> tuple[str, dict[str, dict[str, float]]]:
    """Section 2 (Table 3): parameters, per-sample training memory at ``size``, implied batches and ratios."""
    rows, per_sample = [], {}
    for task in [t for t in tasks if t != "mri8x"]:  # 8x MRI has the 4x networks and operator cost
        key = "mri" if task.startswith("mri") else task
        for name, recompute in [(m, False) for m in MODELS] + [(m, True) for m in RECOMPUTED]:
            slope, fixed, params = training_memory(name, task, size, recompute)
            per_sample.setdefault(task, {})[name + ("+recompute" if recompute else "")] = slope
            fits = [str(max(int((gb * 2**30 - fixed) // slope), 0)) for gb in BUDGETS_GB]
            paper = PAPER_TABLE3[key][name]
            rows.append(
                (
                    task,
                    LABELS[name] + (" (recompute)" if recompute else ""),
                    f"{params:,}",
                    f"{paper[0]:,}",
                    f"{slope / 2**20:.1f}",
                    " / ".join(fits),
                    " / ".join(map(str, paper[1:])),
                )
            )
            print(f"  {task} {name}{' (recompute)' if recompute else ''}: {slope / 2**20:.1f} MiB per sample", flush=True)
    header = [
        "task",
        "model",
        "parameters",
        "paper Table 3",
        f"training memory per sample at {size}x{size} (MiB)",
        f"implied batch in {' / '.join(map(str, BUDGETS_GB))} GB at {size}x{size}",
        "paper batch (8 / 10 / 24 GB)",
    ]
    ratio_rows = []
    for task, mem in per_sample.items():
        key = "mri" if task.startswith("mri") else task
        ratio_rows.append(
            (
                task,
                *(f"{mem['lu-dncnn'] / mem[m]:.2f}" for m in RATIO_COLUMNS),
                f"{PAPER_RATIO[key]:.1f}",
            )
        )
    ratios = markdown_table(
        ["task", *(f"LU-DnCNN / {_label(m)}" for m in RATIO_COLUMNS), "paper LU-DnCNN / LUSER (24 GB batches)"],
        ratio_rows,
    )
    return markdown_table(header, rows) + "\n\nPer-sample training-memory ratios:\n\n" + ratios, per_sample


def cost(models: dict[tuple[str, str, str], nn.Module], data_dir: str | None, repeats: int, tasks: tuple[str, ...]) -> str:
    """Section 3 (Table 4): seconds per training step (batch 2) and per reconstruction (one image), and the
    operator applications of one reconstruction, for the final-loss models."""
    rows = []
    for (name, task, loss), module in sorted(models.items(), key=lambda e: (e[0][1], MODELS.index(e[0][0]))):
        if loss != "final" or task not in tasks:
            continue
        size = _size_of(module)
        images, _ = load_test_set(task, size, data_dir, 1)
        t = get_task(task)
        op = t.operator(size, seeds=[TEST_SEED])
        y = t.measure(images, op, torch.Generator().manual_seed(TEST_SEED))
        calls = count_calls(module, op, lambda a: module.reconstruct(y, a))
        with torch.no_grad():
            _, info = module(y, op)
        iters = _iterations(info)
        recon = median_time(lambda: module.reconstruct(y, op), repeats=repeats)
        module.train()
        train = median_time(_training_step(module, task, size, 2), repeats=repeats)
        train_rc = "-"
        if name in RECOMPUTED:
            set_solver_settings(module, recompute=True)
            train_rc = f"{median_time(_training_step(module, task, size, 2), repeats=repeats):.2f}"
            set_solver_settings(module, recompute=False)
        module.eval()
        rows.append(
            (task, LABELS[name], f"{train:.2f}", train_rc, f"{recon:.3f}", iters, calls.forward, calls.adjoint, calls.total)
        )
        print(
            f"  {task} {name}: train step {train:.2f} s, reconstruction {recon:.3f} s, {calls.total} operator calls", flush=True
        )
    header = [
        "task",
        "model",
        "s / training step (batch 2)",
        "the same with recompute",
        "s / reconstruction (1 image)",
        "solver iterations",
        "A calls",
        "A^T calls",
        "operator calls",
    ]
    return markdown_table(header, rows)


def _iterations(info: Any) -> str:
    """DEQ4IP: the solve's iterations; LUSER: the mean inner iterations per stage (and their range); LU: none."""
    nstep = getattr(info, "nstep", None)
    if nstep is not None:
        return str(int(nstep.max()))
    inner = getattr(info, "inner_iterations", None)
    if inner is None:
        return "-"
    return f"{float(inner.float().mean()):.1f} per stage ({int(inner.min())}-{int(inner.max())})"


def figure(models: dict[tuple[str, str, str], nn.Module], results: dict[str, Any], path: Path) -> Path | None:
    """Section 4 (Fig. 2): per task, the first test image's ``x_0``, LU-DnCNN, DEQ4IP and LUSER-DW
    reconstructions and the truth, side by side, as a PNG (deq-core's ``save_image_grid``)."""
    columns = ("x_0", "lu-dncnn", "deq4ip", "luser-dw", "truth")
    rows: list[list[tuple[str, torch.Tensor | None]]] = []
    for task, res in results.items():
        t = get_task(task)
        x = res["images"][:1]
        op = t.operator(x.shape[-1], seeds=[TEST_SEED])
        y = t.measure(x, op, torch.Generator().manual_seed(TEST_SEED))
        row = []
        for col in columns:
            if col == "truth":
                img = x
            elif col == "x_0":
                img = t.to_image(y if t.init == "measurement" else op.adjoint(y))
            elif (col, task, "final") in models:
                img = t.to_image(models[(col, task, "final")].reconstruct(y, op))
            else:
                row.append((f"{task}: {LABELS.get(col, col)} (no weights)", None))  # an empty cell keeps the columns
                continue
            row.append((f"{task}: {LABELS.get(col, col)}", img[0]))
        rows.append(row)
    if not rows:
        return None
    return save_image_grid(path, rows, title="LUSER Fig. 2 counterpart: first test image per task")


def main(argv: list[str] | None = None) -> int:
    """Reproduce LUSER's Tables 2-4 and Fig. 2 with deq's models and write the ``luser`` results section."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="deq bench luser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA or ../shared/data)")
    parser.add_argument("--tasks", default="deblur,ct,mri4x,mri8x", help="tasks to run (comma-separated)")
    parser.add_argument("--limit", type=int, default=None, help="test images per task (default: all)")
    parser.add_argument(
        "--memory-size", type=int, default=32, help="image size of the training-memory measurement (default: the training size)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    parser.add_argument("--sections", default="accuracy,memory,cost", help="which sections to run (comma-separated)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="results file (default: docs/benchmarks.md of the deq checkout)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    # DEQ4IP's solves may stop at their iteration limit; the operator-call counts of section 3 report the iterations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverNotConvergedWarning)
        return _run(args, argv)


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    torch.set_num_threads(args.threads)
    sections = set(args.sections.split(","))
    unknown = sections - {"accuracy", "memory", "cost"}
    if unknown:
        raise ValueError(f"--sections: unknown {sorted(unknown)}; choose from accuracy, memory, cost")
    tasks = tuple(args.tasks.split(","))
    for task in tasks:
        get_task(task)
    out = results_file(args.out)
    models = trained_models()
    if not models and sections & {"accuracy", "cost"}:
        raise WeightsError("no shipped weights found in deq.models.luser.weights; train some with `deq train luser`")
    parts = [
        "## LUSER vs LU-DnCNN and DEQ4IP (deq-models-luser)",
        f"Produced by `{command_line('deq bench luser', argv)}` on {platform.machine()} CPU, {torch.get_num_threads()} "
        f"thread(s), torch {torch.__version__}, shared with other jobs (times are indicative; compare within a table). "
        "The shipped weights were trained for minutes on this CPU (column `trained`), the paper's for hours on a GPU, on "
        "other data at other sizes: compare the models with each other, not with the paper's numbers.",
    ]
    if "accuracy" in sections:
        print("1. accuracy (Table 2)", flush=True)
        table, results = accuracy(models, args.data_dir, args.limit, tasks)
        plot = figure(models, results, out.with_name("luser_reconstructions.png"))
        parts += ["### Test PSNR / SSIM (Table 2)", table]
        if plot is not None:
            parts += [
                "First test image of each task: x_0, LU-DnCNN, DEQ4IP, LUSER-DW, truth (Fig. 2).",
                f"![reconstructions]({plot.name})",
            ]
    if "memory" in sections:
        print("2. memory (Table 3)", flush=True)
        table, _ = memory(args.memory_size, tasks)
        parts += [
            "### Training memory (Table 3)",
            "Peak tensor memory of one training step (forward, MSE, backward; untrained models, training solver settings) "
            "from deq-core's profiler-based `peak_memory` at batch 1 and 4; per sample = the slope. Memory per sample "
            "grows with the number of pixels: at 256x256 divide the implied batches by 16. `(recompute)`: the same "
            "model trained with `--recompute` (deq-core `SolverConfig(recompute=True)`): each stage's block keeps only "
            "its input and fixed point and evaluates `f(r*)` again in the backward pass (the same gradients, tested; "
            "time per step in the next section); without it each stage stores one application of its block, as "
            "TorchDEQ does.",
            table,
        ]
    if "cost" in sections:
        print("3. cost (Table 4)", flush=True)
        parts += [
            "### Time and operator calls (Table 4: LU fast / DEQ4IP slow / LUSER moderate, made numeric)",
            cost(models, args.data_dir, args.repeats, tasks),
        ]
    text = "\n\n".join(parts)
    print(text)
    if not args.no_write:
        print(f"wrote section 'luser' of {write_section('luser', text, out)}")
    return 0
