"""``deq bench mismatch``: Hu et al.'s experiments, each table with the command that made it, written to the
sections ``mismatch-mri`` and ``mismatch-sr`` of docs/benchmarks.md (or ``--out``) with the figures beside it.

1. CS-MRI, Table 1 and Fig. 2: SD-RED at 10 / 20 / 30 % radial sampling with the best AWGN prior and with the
   mismatched AR prior (trained at 10 %), on the paper's 10 test images (``brain_test_01-10``), beside the
   paper's values.
2. Fig. 3: the wrong operator at inference: 10 % data reconstructed with the 20 % operator, both priors, and
   the drop from the matched reconstruction.
3. Super-resolution, Table 2 and Fig. 4: PnP-PGM at s = 3 with kernels (b), (d), (e) (``kernels_12.mat``
   indices 1, 3, 4), input noise 0.03, on CBSD68 (central crops unless ``--sr-crop 0``), AWGN vs AR prior
   (trained at s = 2 and 4).

Every choice is made on validation data, never on test images: per experiment (a sampling ratio, or a kernel),
the AWGN noise level among the shipped ones at the weight ``tau_ref(sigma)`` (:func:`tau_ref`), then ``tau`` at
x0.5 and x2 of it for the best noise level; for the AR prior ``tau`` at x0.5, x1, x2 of the weight it was
trained with. The search is printed in the section.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from deq.core.bench import command_line, markdown_table, results_file, write_section
from deq.core.metrics import psnr, ssim
from deq.core.plots import save_image_grid
from deq.models.mismatch import data
from deq.models.mismatch.weights import AR_WEIGHTS, available, awgn_priors, resolve

#: Hu et al. Table 1 (PSNR dB at 10 / 20 / 30 %) and Table 2 (kernels 1-3)
PAPER_MRI = {"awgn": (31.37, 35.52, 37.88), "ar": (33.05, 37.48, 39.77)}
PAPER_SR = {"awgn": (24.63, 24.22, 25.75), "ar": (24.86, 24.57, 25.90)}
#: the paper's Avg column of Table 2, which is not the mean of its rows (24.87 / 25.11)
PAPER_SR_AVG = {"awgn": 25.12, "ar": 25.35}
PAPER_MRI_AVG = {"awgn": 34.92, "ar": 36.76}
MODEL = {"mri": "sd-red", "sr": "pnp-pgm"}
LABEL = {"awgn": "AWGN prior (PnP)", "ar": "mismatched AR prior (DEQ)"}
#: the reference regularisation weight of SD-RED at sigma = 5/255 on noiseless CS-MRI (scaled by 1/sigma^2)
MRI_TAU_AT_5 = 0.2
TAU_FACTORS = (0.5, 2.0)


def tau_ref(task: str, sigma: float) -> float:
    """The weight at which each AWGN noise level is compared: ``tau sigma^2`` held fixed, since
    ``x - D_sigma(x) ~ sigma^2 grad(-log p)`` for an MMSE denoiser. SR: ``tau = nu^2 / sigma^2`` with the input noise
    ``nu = 0.03`` (the MAP weight); MRI (noiseless): ``0.2 (5/255)^2 / sigma^2``."""
    if task == "sr":
        return (data.SR_NOISE / sigma) ** 2
    return MRI_TAU_AT_5 * (5 / 255) ** 2 / sigma**2


@dataclass
class Setting:
    """One candidate: an AWGN prior (shipped name, noise level) or the AR model (``prior=None``), and ``tau``."""

    prior: str | None
    sigma: float | None
    tau: float
    score: float = float("nan")

    def label(self) -> str:
        who = "AR" if self.prior is None else f"sigma {self.sigma * 255:g}/255"
        return f"{who}, tau {self.tau:.3g}"


@dataclass
class Context:
    """What every experiment needs from the command line."""

    iters: int
    batch: int
    ar_weights: dict[str, str | None]
    data_dir: str | None


def build(task: str, setting: Setting, ctx: Context) -> torch.nn.Module:
    """The model of ``task`` for ``setting`` (evaluation solver of ``ctx.iters`` Nesterov iterations)."""
    from deq.core.registry import create

    solver = {"max_iter": ctx.iters, "eval_max_iter": ctx.iters, "tol": 1e-5, "warn_unconverged": False}
    if setting.prior is None:
        model = create("model", MODEL[task], pretrained=True, weights=ctx.ar_weights[task], tau=setting.tau, solver=solver)
    else:
        model = create("model", MODEL[task], prior=setting.prior, tau=setting.tau, solver=solver)
    return model.eval()


def reconstruct(model: torch.nn.Module, ys: Sequence[Tensor], op: Any, batch: int) -> list[Tensor]:
    """Reconstructions of measurements ``ys`` (each ``[1, ...]``), ``batch`` at a time where their shapes agree."""
    out: list[Tensor | None] = [None] * len(ys)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, y in enumerate(ys):
        by_shape.setdefault(tuple(y.shape), []).append(i)
    for idx in by_shape.values():
        for k in range(0, len(idx), batch):
            chunk = idx[k : k + batch]
            rec = model.reconstruct(torch.cat([ys[i] for i in chunk]), op).clamp(0, 1)
            for i, r in zip(chunk, rec):
                out[i] = r[None]
    return out  # type: ignore[return-value]


def mean_psnr(recs: Sequence[Tensor], truth: Sequence[Tensor]) -> list[float]:
    return [float(psnr(r, x)[0]) for r, x in zip(recs, truth)]


def search(
    task: str, awgn: dict[float, str], trained_tau: float, score: Callable[[Setting], float]
) -> tuple[Setting, Setting, list[Setting]]:
    """The validation search (module docstring): returns the best AWGN setting, the best AR setting and every
    setting tried with its score."""
    tried = []

    def run(s: Setting) -> Setting:
        s.score = score(s)
        tried.append(s)
        print(f"    validation {s.label()}: {s.score:.2f} dB", flush=True)
        return s

    stage1 = [run(Setting(name, sigma, tau_ref(task, sigma))) for sigma, name in awgn.items()]
    best = max(stage1, key=lambda s: s.score)
    stage2 = [run(Setting(best.prior, best.sigma, best.tau * f)) for f in TAU_FACTORS]
    best_awgn = max([best, *stage2], key=lambda s: s.score)
    ar = [run(Setting(None, None, trained_tau * f)) for f in (1.0, *TAU_FACTORS)]
    return best_awgn, max(ar, key=lambda s: s.score), tried


def trained_tau(task: str, ctx: Context) -> float:
    """The ``tau`` the AR model was trained with (from its weight file's config)."""
    return float(_metadata(ctx.ar_weights[task] or AR_WEIGHTS[MODEL[task]])["config"]["tau"])


def _metadata(name: str) -> dict[str, Any]:
    """The metadata (kind, name, config, provenance) of a shipped weight name or file, from its JSON twin if any."""
    from deq.core.weights import read_weights

    path, hint = resolve(name)
    twin = path.with_suffix(".json")
    return json.loads(twin.read_text()) if twin.is_file() else read_weights(path, how_to_obtain=hint)


def _start(prov: dict[str, Any]) -> str:
    """Where a training run started: from scratch, from an AWGN prior (AR runs) or from another run's weights
    (``--init``), named by the shipped file trained by the same command where there is one."""
    parent = re.search(r"initialised from AWGN prior (\S+)", prov.get("data", ""))
    if parent:
        return f"from {Path(parent.group(1)).stem}"
    init = prov.get("init")
    if not init:
        return "from scratch"
    command = init.get("provenance", {}).get("command")
    twins = [n for n in available() if command and _metadata(n)["provenance"].get("command") == command]
    return f"fine-tuned from {twins[0] if twins else Path(init['weights']).parent.name}"


def _metric(key: str, value: float) -> str:
    return f"{key} {value:.1e}" if "residual" in key else f"{key} {value:.2f}"


def training_table(names: Sequence[str]) -> str:
    """How far each weight file used was trained (from its provenance)."""
    rows = []
    for name in dict.fromkeys(names):
        meta = _metadata(name)
        prov = meta["provenance"]
        val = ", ".join(_metric(k, v) for k, v in prov["metrics"]["validation"].items() if isinstance(v, float))
        rows.append(
            (
                resolve(name)[0].stem,
                f"{meta['kind']} {meta['name']}",
                prov["steps"],
                f"{prov['wall_seconds'] / 60:.1f}",
                _start(prov),
                val,
                f"`{prov['command']}`",
            )
        )
    return markdown_table(["weights", "network", "steps", "CPU minutes", "start", "validation", "command"], rows)


def search_table(tried: dict[str, list[Setting]]) -> str:
    rows = [(exp, s.label(), f"{s.score:.2f}") for exp, settings in tried.items() for s in settings]
    return markdown_table(["experiment", "setting", "validation PSNR (dB)"], rows)


def _row(label: str, ours: Sequence[float], paper: Sequence[float], paper_avg: float) -> list[str]:
    cells = [f"{o:.2f} ({p:.2f})" for o, p in zip(ours, paper)]
    return [label, *cells, f"{sum(ours) / len(ours):.2f} ({paper_avg:.2f})"]


def mri_experiment(ctx: Context, val_images: int, test_numbers: Sequence[int], plots: Path) -> tuple[str, list[str]]:
    """Table 1, Fig. 2 and Fig. 3 (module docstring); returns the markdown and the weight names used."""
    awgn = awgn_priors("mri")
    if not awgn:
        raise FileNotFoundError(
            "no shipped CS-MRI AWGN priors (mri-dncnn-awgn-*.pt); train them with `deq train mismatch awgn --task mri`"
        )
    tau_ar = trained_tau("mri", ctx)
    val_x = list(data.brain_images(data.MRI_SPLITS.validation[:val_images], ctx.data_dir)[:, None])
    test_x = list(data.brain_images(test_numbers, ctx.data_dir)[:, None])
    results: dict[str, dict[int, Any]] = {"awgn": {}, "ar": {}}
    tried: dict[str, list[Setting]] = {}
    chosen: dict[int, tuple[Setting, Setting]] = {}
    ops = {r: data.mri_operator(data.mri_mask(r, ctx.data_dir)) for r in data.MRI_RATIOS}
    figure_rows = []
    for r, op in ops.items():
        print(f"  CS-MRI {r} %: validation search on {len(val_x)} image(s)", flush=True)
        y_val = [op(x) for x in val_x]

        def score(s: Setting, op=op, y_val=y_val) -> float:
            recs = reconstruct(build("mri", s, ctx), y_val, op, ctx.batch)
            return sum(mean_psnr(recs, val_x)) / len(val_x)

        best_awgn, best_ar, tried[f"{r} %"] = search("mri", awgn, tau_ar, score)
        chosen[r] = (best_awgn, best_ar)
        y_test = [op(x) for x in test_x]
        row = [
            (f"{r} %: truth", test_x[0][0]),
            (f"zero-filled {float(psnr(op.adjoint(y_test[0]).clamp(0, 1), test_x[0])[0]):.2f} dB", op.adjoint(y_test[0])[0]),
        ]
        for kind, setting in (("awgn", best_awgn), ("ar", best_ar)):
            t0 = time.perf_counter()
            recs = reconstruct(build("mri", setting, ctx), y_test, op, ctx.batch)
            seconds = (time.perf_counter() - t0) / len(test_x)
            values = mean_psnr(recs, test_x)
            ssims = [float(ssim(rec, x)[0]) for rec, x in zip(recs, test_x)]
            results[kind][r] = {
                "psnr": sum(values) / len(values),
                "ssim": sum(ssims) / len(ssims),
                "per": values,
                "recs": recs,
                "s": seconds,
            }
            row.append((f"{'AWGN' if kind == 'awgn' else 'AR'} {values[0]:.2f} dB", recs[0][0]))
            print(f"    test {kind}: {results[kind][r]['psnr']:.2f} dB ({seconds:.1f} s / image)", flush=True)
        figure_rows.append(row)
    fig2 = save_image_grid(
        plots / "mismatch_mri.png",
        figure_rows,
        "CS-MRI, brain_test_01: SD-RED with the AWGN and the mismatched AR prior (trained at 10 %)",
    )
    # Fig. 3: 10 % data, the 20 % operator, the 10 % settings of each prior
    wrong = ops[20]
    y10 = [ops[10](x) for x in test_x]
    wrong_rows, fig3_row = [], [("truth", test_x[0][0])]
    for kind, setting in zip(("awgn", "ar"), chosen[10]):
        recs = reconstruct(build("mri", setting, ctx), y10, wrong, ctx.batch)
        values = mean_psnr(recs, test_x)
        matched = results[kind][10]["psnr"]
        mism = sum(values) / len(values)
        wrong_rows.append((LABEL[kind], setting.label(), f"{matched:.2f}", f"{mism:.2f}", f"{mism - matched:+.2f}"))
        fig3_row += [
            (f"{kind.upper()} matched {results[kind][10]['per'][0]:.2f}", results[kind][10]["recs"][0][0]),
            (f"{kind.upper()} 20 % op {values[0]:.2f}", recs[0][0]),
        ]
        print(f"    wrong operator {kind}: {mism:.2f} dB (matched {matched:.2f})", flush=True)
    fig3 = save_image_grid(
        plots / "mismatch_wrong_operator.png",
        [fig3_row],
        "10 % data reconstructed with the 10 % (matched) and the 20 % (wrong) operator",
    )
    ours = {k: [results[k][r]["psnr"] for r in data.MRI_RATIOS] for k in ("awgn", "ar")}
    table1 = markdown_table(
        ["prior", "10 % ours (paper)", "20 % ours (paper)", "30 % ours (paper)", "Avg ours (paper)"],
        [_row(LABEL[k], ours[k], PAPER_MRI[k], PAPER_MRI_AVG[k]) for k in ("awgn", "ar")],
    )
    diff = [a - b for a, b in zip(ours["ar"], ours["awgn"])]
    detail = markdown_table(
        [
            "ratio",
            "AWGN setting (validation)",
            "AR setting (validation)",
            "SSIM AWGN / AR",
            "AR - AWGN (dB)",
            "paper AR - AWGN",
            "s / image",
        ],
        [
            (
                f"{r} %",
                chosen[r][0].label(),
                chosen[r][1].label(),
                f"{results['awgn'][r]['ssim']:.4f} / {results['ar'][r]['ssim']:.4f}",
                f"{d:+.2f}",
                f"{PAPER_MRI['ar'][i] - PAPER_MRI['awgn'][i]:+.2f}",
                f"{results['awgn'][r]['s']:.1f} / {results['ar'][r]['s']:.1f}",
            )
            for i, (r, d) in enumerate(zip(data.MRI_RATIOS, diff))
        ],
    )
    signs = sum(d > 0 for d in diff)
    targets = [f"{r} %: {o:.2f} vs {p:.2f}" for r, o, p in zip(data.MRI_RATIOS, ours["ar"], PAPER_MRI["ar"])]
    text = [
        f"#### Table 1: average PSNR (dB) over brain_test_{test_numbers[0]:02d}-{test_numbers[-1]:02d}, SD-RED, "
        "paper in brackets",
        table1,
        f"The paper's sign (AR above AWGN) holds at {signs} of 3 ratios. The AR prior against the issue's targets "
        f"(at or above the paper's AR row): {'; '.join(targets)}.",
        detail,
        f"![CS-MRI]({fig2.name})",
        "#### Fig. 3: the wrong operator at inference (10 % data, 20 % operator; the 10 % settings of each prior)",
        markdown_table(["prior", "setting", "matched (10 % op) PSNR", "wrong (20 % op) PSNR", "drop (dB)"], wrong_rows),
        f"![wrong operator]({fig3.name})",
        "#### Validation search (brain_test_41.., noiseless k-space)",
        search_table(tried),
    ]
    return "\n\n".join(text), [*awgn.values(), ctx.ar_weights["mri"] or AR_WEIGHTS["sd-red"]]


def sr_experiment(
    ctx: Context, val_images: int, val_crop: int, crop: int, limit: int | None, plots: Path
) -> tuple[str, list[str]]:
    """Table 2 and Fig. 4 (module docstring); returns the markdown and the weight names used."""
    awgn = awgn_priors("sr")
    if not awgn:
        raise FileNotFoundError(
            "no shipped super-resolution AWGN priors (sr-unet-awgn-*.pt); train them with `deq train mismatch awgn --task sr`"
        )
    tau_ar = trained_tau("sr", ctx)
    s = data.SR_TEST_SCALE
    val_x = [im[None] for im in data.sr_images(data.SR_VAL, val_crop, 12, ctx.data_dir, limit=val_images)]
    test_x = [im[None] for im in data.sr_images(data.SR_TEST, crop, 12 if crop else s, ctx.data_dir, limit=limit)]
    names = data.folder_names(data.SR_TEST, ctx.data_dir, limit)
    kernels = data.sr_kernels(data.SR_KERNELS, ctx.data_dir)
    results: dict[str, list[float]] = {"awgn": [], "ar": []}
    tried: dict[str, list[Setting]] = {}
    detail, figure_rows = [], []
    for j, (index, kernel) in enumerate(zip(data.SR_KERNELS, kernels)):
        op = data.sr_operator(kernel, s)

        def measure(images: Sequence[Tensor], seed: int) -> list[Tensor]:
            g = torch.Generator().manual_seed(seed)
            return [op(x) + data.SR_NOISE * torch.randn(op(x).shape, generator=g) for x in images]

        y_val, y_test = measure(val_x, 1000 + j), measure(test_x, 2000 + j)
        lo, hi = data.kernel_std(kernel)
        print(
            f"  SR kernel {j + 1} (index {index}, std {lo:.2f} x {hi:.2f}): validation search on {len(val_x)} crop(s)", flush=True
        )

        def score(setting: Setting, op=op, y_val=y_val) -> float:
            recs = reconstruct(build("sr", setting, ctx), y_val, op, ctx.batch)
            return sum(mean_psnr(recs, val_x)) / len(val_x)

        best_awgn, best_ar, tried[f"kernel {j + 1}"] = search("sr", awgn, tau_ar, score)
        per = {}
        for kind, setting in (("awgn", best_awgn), ("ar", best_ar)):
            t0 = time.perf_counter()
            recs = reconstruct(build("sr", setting, ctx), y_test, op, ctx.batch)
            seconds = (time.perf_counter() - t0) / len(test_x)
            values = mean_psnr(recs, test_x)
            results[kind].append(sum(values) / len(values))
            per[kind] = (recs, values, seconds)
            print(f"    test {kind}: {results[kind][-1]:.2f} dB ({seconds:.1f} s / image)", flush=True)
        detail.append(
            (
                f"kernel {j + 1} (index {index}, std {lo:.2f} x {hi:.2f} px)",
                best_awgn.label(),
                best_ar.label(),
                f"{results['ar'][-1] - results['awgn'][-1]:+.2f}",
                f"{PAPER_SR['ar'][j] - PAPER_SR['awgn'][j]:+.2f}",
                f"{per['awgn'][2]:.1f} / {per['ar'][2]:.1f}",
            )
        )
        if j == 0:
            for i in range(min(2, len(test_x))):
                up = torch.nn.functional.interpolate(y_test[i], scale_factor=s, mode="bicubic", align_corners=False)
                figure_rows.append(
                    [
                        (f"{names[i]}: bicubic {float(psnr(up.clamp(0, 1), test_x[i])[0]):.2f} dB", up[0]),
                        (f"AWGN {per['awgn'][1][i]:.2f} dB", per["awgn"][0][i][0]),
                        (f"AR {per['ar'][1][i]:.2f} dB", per["ar"][0][i][0]),
                        ("truth", test_x[i][0]),
                    ]
                )
    fig4 = save_image_grid(
        plots / "mismatch_sr.png",
        figure_rows,
        "Super-resolution s = 3, kernel 1, noise 0.03: PnP-PGM with the AWGN and the mismatched AR prior",
    )
    size = f"central {test_x[0].shape[-2]}x{test_x[0].shape[-1]} crops" if crop else "whole images cropped to a multiple of 3"
    table2 = markdown_table(
        ["prior", "kernel 1 ours (paper)", "kernel 2 ours (paper)", "kernel 3 ours (paper)", "Avg ours (paper's Avg column)"],
        [_row(LABEL[k], results[k], PAPER_SR[k], PAPER_SR_AVG[k]) for k in ("awgn", "ar")],
    )
    diff = [a - b for a, b in zip(results["ar"], results["awgn"])]
    text = [
        f"#### Table 2: average PSNR (dB, RGB) over {len(test_x)} CBSD68 images ({size}), PnP-PGM at s = 3, paper in brackets",
        table2,
        f"The paper's Avg column (25.12 / 25.35) is not the mean of its rows (24.87 / 25.11). The paper's sign (AR above "
        f"AWGN) holds for {sum(d > 0 for d in diff)} of 3 kernels.",
        markdown_table(
            ["kernel", "AWGN setting (validation)", "AR setting (validation)", "AR - AWGN (dB)", "paper AR - AWGN", "s / image"],
            detail,
        ),
        f"![super-resolution]({fig4.name})",
        f"#### Validation search (Set5, central {val_x[0].shape[-1]}px crops, s = 3, noise 0.03)",
        search_table(tried),
    ]
    return "\n\n".join(text), [*awgn.values(), ctx.ar_weights["sr"] or AR_WEIGHTS["pnp-pgm"]]


def main(argv: list[str] | None = None) -> int:
    """Reproduce Hu et al.'s experiments (Table 1-2, Fig. 2-4) and write the ``mismatch-*`` results sections."""
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="deq bench mismatch", description=__doc__.split("\n\n")[0])
    p.add_argument("--part", nargs="+", choices=("mri", "sr"), default=["mri", "sr"], help="experiments to run")
    p.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA or ../shared/data)")
    p.add_argument("--mri-weights", default=None, help="SD-RED AR model file (default: shipped mri-sd-red-ar)")
    p.add_argument("--sr-weights", default=None, help="PnP-PGM AR model file (default: shipped sr-pnp-pgm-ar)")
    p.add_argument("--iters", type=int, default=60, help="Nesterov iterations per reconstruction")
    p.add_argument("--batch", type=int, default=8, help="images reconstructed together")
    p.add_argument("--mri-val-images", type=int, default=2, help="validation images of the CS-MRI search (brain_test_41..)")
    p.add_argument(
        "--mri-test",
        choices=("paper", "all50"),
        default="paper",
        help="test on brain_test_01-10 (the paper) or all 50 (40 of them trained/validated the priors: not a test figure)",
    )
    p.add_argument("--sr-val-images", type=int, default=5, help="Set5 validation images of the SR search")
    p.add_argument("--sr-val-crop", type=int, default=96, help="central crop of the SR validation images")
    p.add_argument("--sr-crop", type=int, default=120, help="central crop of the CBSD68 test images (0: whole images)")
    p.add_argument("--sr-images", type=int, default=None, help="CBSD68 test images (default: all 68)")
    p.add_argument("--out", default=None, help="results file (default: docs/benchmarks.md of the deq checkout)")
    p.add_argument("--plots", default=None, help="folder of the figures (default: beside the results file)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--no-write", action="store_true", help="print the sections instead of writing them")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = results_file(args.out)
    plots = Path(args.plots) if args.plots else out.parent
    ctx = Context(args.iters, args.batch, {"mri": args.mri_weights, "sr": args.sr_weights}, args.data_dir)
    head = (
        f"Produced by `{command_line('deq bench mismatch', argv)}` on {platform.machine()} CPU, {torch.get_num_threads()} "
        f"thread(s), torch {torch.__version__}, shared with other jobs (times are indicative). Forward solver: Nesterov, "
        f"{args.iters} iterations (tol 1e-5)."
    )
    sections = {}
    if "mri" in args.part:
        t0 = time.perf_counter()
        numbers = data.MRI_SPLITS.test if args.mri_test == "paper" else tuple(range(1, 51))
        text, used = mri_experiment(ctx, args.mri_val_images, numbers, plots)
        note = (
            ""
            if args.mri_test == "paper"
            else "\n\n**brain_test_11-50 trained or validated the priors: this is not a test figure.**"
        )
        sections["mismatch-mri"] = (
            f"### CS-MRI (deq-models-mismatch): Hu et al. Table 1, Fig. 2-3\n\n{head}{note}\n\n{text}\n\n"
            f"#### How far each prior was trained\n\n{training_table(used)}\n\nTotal {(time.perf_counter() - t0) / 60:.1f} min."
        )
    if "sr" in args.part:
        t0 = time.perf_counter()
        text, used = sr_experiment(ctx, args.sr_val_images, args.sr_val_crop, args.sr_crop, args.sr_images, plots)
        sections["mismatch-sr"] = (
            f"### Super-resolution (deq-models-mismatch): Hu et al. Table 2, Fig. 4\n\n{head}\n\n{text}\n\n"
            f"#### How far each prior was trained\n\n{training_table(used)}\n\nTotal {(time.perf_counter() - t0) / 60:.1f} min."
        )
    for name, text in sections.items():
        print(text)
        if not args.no_write:
            print(f"wrote section '{name}' of {write_section(name, text, out)}")
    return 0
