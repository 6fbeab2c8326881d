"""``deq bench hsi``: the experiments of Gkillas et al. on the three real cubes of ``shared/data/hsi``, each fold's
held-out scene denoised by the models trained without it, written to the ``hsi`` section of docs/benchmarks.md (or
``--out``) with the figures beside it.

1. Table I counterpart: PSNR / SSIM / SAM of the noisy cube, batch-OMP, Lasso, the pretrained CNN alone (not in
   the paper: what the sparse coding adds to it) and the four learned models at sigma = 30, 50, 70 (mean over the
   three leave-one-scene-out folds, and PSNR per fold), beside the paper's ICVL numbers. The baselines' parameters
   (OMP's tolerance factor, Lasso's alpha) are chosen per fold and noise level on the validation rows of the
   fold's training scenes, never on the test scene.
2. Fig. 7: PSNR against the number of inference iterations (DU: plain iterations of the trained stage; DEQ:
   Anderson iterations) at sigma = 50.
3. Fig. 6: PSNR against the block size ``n`` at sigma = 50 (the models trained on 20 x 20 blocks, applied with
   other ``n``; the paper trains per ``n``).
4. Table III / Fig. 8: seconds per cube and parameter counts.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from deq.core.bench import command_line, markdown_table, results_file, write_section
from deq.core.metrics import psnr, sam, ssim
from deq.models.hsi.data import SCENES, SIGMAS, Fold, add_noise
from deq.models.hsi.models import BLOCK
from deq.models.hsi.train import denoise
from deq.models.hsi.weights import MODELS

FOLDS = tuple(SCENES)
BASELINES = ("batch-omp-sc", "lasso-sc")
#: the pretrained CNN applied alone to every block (eq. 12; not in the paper's tables): what the sparse coding adds
CNN = "hsi-cnn"
LABELS = {
    "noisy": "Noisy",
    "batch-omp-sc": "batch-OMP",
    "lasso-sc": "Lasso",
    CNN: "CNN alone",
    "du-full-sc": "DU-full-sc",
    "deq-full-sc": "DEQ-full-sc",
    "du-fast-sc": "DU-fast-sc",
    "deq-fast-sc": "DEQ-fast-sc",
}
#: Gkillas et al. Table I on ICVL (PSNR dB, SSIM, SAM rad): another dataset, for orientation only
PAPER = {
    30: {
        "noisy": (18.54, 0.112, 0.807),
        "batch-omp-sc": (36.03, 0.889, 0.146),
        "lasso-sc": (36.41, 0.917, 0.113),
        "du-full-sc": (42.60, 0.972, 0.045),
        "deq-full-sc": (42.80, 0.973, 0.042),
        "du-fast-sc": (42.75, 0.974, 0.042),
        "deq-fast-sc": (42.87, 0.975, 0.041),
    },
    50: {
        "noisy": (14.12, 0.043, 0.993),
        "batch-omp-sc": (33.17, 0.751, 0.232),
        "lasso-sc": (33.54, 0.849, 0.098),
        "du-full-sc": (40.22, 0.956, 0.054),
        "deq-full-sc": (40.75, 0.962, 0.047),
        "du-fast-sc": (40.62, 0.961, 0.050),
        "deq-fast-sc": (40.77, 0.963, 0.048),
    },
    70: {
        "noisy": (11.21, 0.024, 1.102),
        "batch-omp-sc": (30.91, 0.660, 0.280),
        "lasso-sc": (31.30, 0.759, 0.130),
        "du-full-sc": (39.14, 0.947, 0.056),
        "deq-full-sc": (39.27, 0.949, 0.054),
        "du-fast-sc": (39.01, 0.948, 0.056),
        "deq-fast-sc": (39.25, 0.950, 0.055),
    },
}
#: Table III: seconds per 1300 x 1300 x 31 ICVL image (the paper's GPU)
PAPER_SECONDS = {"du-full-sc": 13.12, "deq-full-sc": 25.03, "du-fast-sc": 4.70, "deq-fast-sc": 7.45}
TOL_GRID = (0.9, 1.0, 1.15, 1.3, 1.5, 1.75)
ALPHA_GRID = (0.5, 0.7, 1.0, 1.4, 2.0)
KS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100)
BLOCKS = (5, 10, 20, 25)


def test_noise_seed(sigma: int, fold: str) -> int:
    """The seed of the test noise of a fold's scene at ``sigma`` (fixed, so every method sees the same noisy cube)."""
    return 1000 * sigma + FOLDS.index(fold)


def quality(x: Tensor, ref: Tensor) -> tuple[float, float, float]:
    """PSNR (dB), SSIM and SAM (radians) of a cube ``[d, H, W]`` clipped to ``[0, 1]`` against ``ref``."""
    a, r = x.clamp(0, 1)[None].float(), ref[None].float()
    return float(psnr(a, r)), float(ssim(a, r)), float(sam(a, r))


@dataclass(frozen=True)
class Sources:
    """Where the weights come from: the shipped files (``runs=None``) or a folder of one's own ``deq train`` runs,
    ``runs/FOLD/{dict,cnn,NAME}/weights.pt`` (blind) and ``runs/FOLD/sigmaS/{cnn,NAME}/weights.pt`` for the levels of
    :data:`~deq.models.hsi.weights.LEVEL_WEIGHTS`. ``blind=True`` uses the blind weights at every level."""

    runs: Path | None = None
    blind: bool = False

    def _level(self, sigma: float | None) -> float | None:
        return None if self.blind else sigma

    def run_file(self, fold: str, sub: str, sigma: float | None) -> Path:
        """``RUNS/FOLD[/sigmaS]/SUB/weights.pt``: the run of ``sub`` (``cnn`` or a model) for data of level ``sigma``."""
        from deq.models.hsi.weights import trained_level

        level = trained_level(sub, self._level(sigma))
        folder = self.runs / fold / f"sigma{level}" if level else self.runs / fold
        return folder / sub / "weights.pt"

    def dictionary_file(self, fold: str) -> Path:
        from deq.models.hsi.dictionary import NAME
        from deq.models.hsi.weights import shipped

        return self.runs / fold / "dict" / "weights.pt" if self.runs else shipped(NAME, fold)

    def model_file(self, name: str, fold: str, sigma: float | None = None) -> Path:
        """The weight file of the learned model ``name`` of ``fold`` for data of noise level ``sigma``."""
        from deq.models.hsi.weights import shipped

        return self.run_file(fold, name, sigma) if self.runs else shipped(name, fold, self._level(sigma))

    def model(self, name: str, fold: str, sigma: float | None = None, **overrides: Any) -> nn.Module:
        """The learned model ``name`` of ``fold`` for data of noise level ``sigma``."""
        from deq.models.hsi.weights import load_model

        return load_model(name, self.model_file(name, fold, sigma), **overrides)

    def prior(self, fold: str, sigma: float | None = None) -> nn.Module:
        """The pretrained CNN of ``fold`` (the one the models of level ``sigma`` started from)."""
        from deq.models.hsi.weights import PRIOR, load_prior, shipped

        return load_prior(self.run_file(fold, "cnn", sigma) if self.runs else shipped(PRIOR, fold, self._level(sigma)))

    def baseline(self, name: str, fold: str, sigma: float, factor: float) -> nn.Module:
        from deq.core.registry import create

        key = "tol_factor" if name == "batch-omp-sc" else "alpha_factor"
        return create("model", name, pretrained=True, weights=str(self.dictionary_file(fold)), sigma=sigma, **{key: factor})


def weights_note(blind: bool) -> str:
    """Which weights the learned rows (and "CNN alone") use at each noise level."""
    from deq.models.hsi.weights import LEVEL_WEIGHTS

    if blind:
        return "Learned rows: the blind weights (trained over sigma 30, 50 and 70) at every level."
    levels = " and ".join(str(s) for s in LEVEL_WEIGHTS)
    return (
        f"Learned rows: at sigma {levels} the CNN and models trained at that level alone (residual CNN), at the other "
        "levels the blind weights (trained over sigma 30, 50 and 70; direct CNN)."
    )


def tune_baseline(
    sources: Sources, name: str, fold: Fold, sigma: int, data_dir: str | None, pixels: int = 1500
) -> tuple[float, dict[float, float]]:
    """The factor of ``name`` (OMP tolerance or Lasso alpha, over :data:`TOL_GRID` / :data:`ALPHA_GRID`) with the best
    PSNR on ``pixels`` random pixels of the fold's validation rows at ``sigma``; returns it and every score."""
    from deq.operators.simple import Denoising

    val = torch.cat([c.reshape(c.shape[0], -1) for c in fold.validation_cubes(data_dir)], 1)
    idx = torch.from_numpy(np.random.default_rng(sigma).choice(val.shape[1], min(pixels, val.shape[1]), replace=False))
    clean = val[:, idx][None, :, :, None]  # [1, d, P, 1]: pixels as a one-column cube
    noisy = add_noise(clean, sigma, seed=7 + sigma)
    scores = {}
    for factor in TOL_GRID if name == "batch-omp-sc" else ALPHA_GRID:
        out = sources.baseline(name, fold.test, sigma, factor).reconstruct(noisy, Denoising())
        scores[factor] = float(psnr(out.clamp(0, 1), clean))
    return max(scores, key=scores.get), scores


def run_table(
    sources: Sources, folds: Sequence[str], sigmas: Sequence[int], methods: Sequence[str], data_dir: str | None
) -> tuple[dict, dict]:
    """Every method on every fold's test scene at every ``sigma``: ``results[fold][sigma][method] = (psnr, ssim, sam,
    seconds)``, and the baselines' chosen factors ``choices[fold][sigma][method] = (factor, scores)``."""
    from deq.operators.simple import Denoising

    results: dict = {}
    choices: dict = {}
    loaded: dict[Path, nn.Module] = {}  # the blind weights serve several levels: load each file once

    def learned(m: str, fold_name: str, sigma: int) -> nn.Module:
        path = sources.model_file(m, fold_name, sigma)
        if path not in loaded:
            loaded[path] = sources.model(m, fold_name, sigma)
        return loaded[path]

    for fold_name in folds:
        fold = Fold(fold_name)
        clean = fold.test_cube(data_dir)
        for sigma in sigmas:
            noisy = add_noise(clean, sigma, seed=test_noise_seed(sigma, fold_name))
            row = {"noisy": (*quality(noisy, clean), 0.0)}
            for m in methods:
                if m in BASELINES:
                    factor, scores = tune_baseline(sources, m, fold, sigma, data_dir)
                    choices.setdefault(fold_name, {}).setdefault(sigma, {})[m] = (factor, scores)
                    model = sources.baseline(m, fold_name, sigma, factor)
                elif m == CNN:
                    model = sources.prior(fold_name, sigma).eval()
                else:
                    model = learned(m, fold_name, sigma)
                t0 = time.perf_counter()  # the method's time, not the loading of its weights
                if m == CNN:
                    with torch.no_grad():
                        out = denoise(model, noisy, BLOCK)
                else:
                    out = model.reconstruct(noisy[None], Denoising())[0]
                row[m] = (*quality(out, clean), time.perf_counter() - t0)
                print(f"  {fold_name} sigma {sigma} {m}: {row[m][0]:.2f} dB, {row[m][3]:.1f} s", flush=True)
            results.setdefault(fold_name, {})[sigma] = row
    return results, choices


def table_one(results: dict, sigmas: Sequence[int], methods: Sequence[str]) -> str:
    """Mean over folds of PSNR / SSIM / SAM, ours (paper) per cell, and the gain of each learned model over Lasso."""
    columns = ["noisy", *methods]
    rows = []
    for sigma in sigmas:
        for k, metric in enumerate(("PSNR", "SSIM", "SAM")):
            cells = []
            for m in columns:
                ours = statistics.mean(results[f][sigma][m][k] for f in results)
                paper = PAPER[sigma][m][k] if m in PAPER.get(sigma, {}) else None
                fmt = "{:.2f}" if k == 0 else "{:.3f}"
                cells.append(fmt.format(ours) + (f" ({fmt.format(paper)})" if paper is not None else ""))
            rows.append((sigma, metric, *cells))
        if "lasso-sc" in methods:
            gains = []
            for m in columns:
                if m in MODELS or m == CNN:
                    ours = statistics.mean(results[f][sigma][m][0] - results[f][sigma]["lasso-sc"][0] for f in results)
                    paper = PAPER[sigma][m][0] - PAPER[sigma]["lasso-sc"][0] if m in PAPER.get(sigma, {}) else None
                    gains.append(f"{ours:+.2f}" + (f" ({paper:+.2f})" if paper is not None else ""))
                else:
                    gains.append("")
            rows.append((sigma, "PSNR gain over Lasso", *gains))
    return markdown_table(["sigma", "metric", *[LABELS[m] for m in columns]], rows)


def table_per_fold(results: dict, sigmas: Sequence[int], methods: Sequence[str]) -> str:
    """PSNR of every method on every held-out scene."""
    rows = [
        (fold, sigma, *[f"{results[fold][sigma][m][0]:.2f}" for m in ("noisy", *methods)]) for fold in results for sigma in sigmas
    ]
    return markdown_table(["held-out scene", "sigma", *[LABELS[m] for m in ("noisy", *methods)]], rows)


def table_choices(choices: dict) -> str:
    """The baselines' factors chosen on the validation rows, with the validation PSNR of each candidate."""
    rows = []
    for fold, per_sigma in choices.items():
        for sigma, per_method in per_sigma.items():
            for m, (factor, scores) in per_method.items():
                rows.append((fold, sigma, LABELS[m], factor, ", ".join(f"{f:g}: {p:.2f}" for f, p in scores.items())))
    header = ["fold (held out)", "sigma", "method", "chosen factor", "validation PSNR per factor (dB)"]
    return markdown_table(header, rows)


def iteration_curves(sources: Sources, folds: Sequence[str], sigma: int, ks: Sequence[int], data_dir: str | None) -> dict:
    """Fig. 7: mean PSNR over folds after each ``k`` of ``ks`` iterations, per learned model. Unrolled models iterate
    their trained stage ``k`` times; equilibrium models run ``k`` Anderson iterations (the image of the map at the
    ``k``-th iterate, as deq-core's solver evaluates it)."""
    from deq.core.solve_scope import solve_scope
    from deq.core.solvers import anderson
    from deq.operators.simple import Denoising

    kmax = max(ks)
    curves: dict[str, list[list[float]]] = {}
    for fold_name in folds:
        clean = Fold(fold_name).test_cube(data_dir)
        y = add_noise(clean, sigma, seed=test_noise_seed(sigma, fold_name))[None]
        op = Denoising()
        for name in MODELS:
            model = sources.model(name, fold_name, sigma)
            scores: dict[int, float] = {}

            def record(k: int, cube: Tensor) -> None:
                if k + 1 in ks:
                    scores[k + 1] = quality(cube[0], clean)[0]

            with torch.no_grad():
                if name.startswith("du"):
                    model.iterate(y, op, kmax, callback=record)
                else:
                    inputs = model.problem(y)
                    calls = [0]

                    def g(z: Tensor) -> Tensor:
                        fz = model.map(z, *inputs)
                        if calls[0] + 1 in ks:
                            record(calls[0], model.readout(fz, inputs, y))
                        calls[0] += 1
                        return fz

                    with solve_scope(model.map):
                        options = model.solver_config.solver_options
                        anderson(g, model.map.start(inputs[0], inputs[2]), tol=1e-12, max_iter=kmax, **options)
            curves.setdefault(name, []).append([scores[k] for k in ks])
            print(f"  iterations: {fold_name} {name} done", flush=True)
    return {name: [statistics.mean(v) for v in zip(*per_fold)] for name, per_fold in curves.items()}


def block_sweep(sources: Sources, folds: Sequence[str], sigma: int, blocks: Sequence[int], data_dir: str | None) -> dict:
    """Fig. 6: mean PSNR over folds of each learned model applied with block side ``n`` for each of ``blocks``."""
    from deq.operators.simple import Denoising

    sweep: dict[str, list[list[float]]] = {}
    for fold_name in folds:
        clean = Fold(fold_name).test_cube(data_dir)
        y = add_noise(clean, sigma, seed=test_noise_seed(sigma, fold_name))[None]
        for name in MODELS:
            models = [sources.model(name, fold_name, sigma, block=n) for n in blocks]
            row = [quality(model.reconstruct(y, Denoising())[0], clean)[0] for model in models]
            sweep.setdefault(name, []).append(row)
        print(f"  block sizes: {fold_name} done", flush=True)
    return {name: [statistics.mean(v) for v in zip(*per_fold)] for name, per_fold in sweep.items()}


def timing_table(results: dict, sigma: int, methods: Sequence[str], sources: Sources, fold: str) -> str:
    """Table III / Fig. 8: seconds per cube (mean over folds) at ``sigma`` and learnable parameters."""
    rows = []
    for m in methods:
        seconds = statistics.mean(results[f][sigma][m][3] for f in results)
        pixels = statistics.mean(_pixels(f) for f in results)
        if m in MODELS or m == CNN:
            model = sources.model(m, fold, sigma) if m in MODELS else sources.prior(fold, sigma)
            params = sum(p.numel() for p in model.parameters())
            paper = f"{PAPER_SECONDS[m]:.2f}" if m in PAPER_SECONDS else "-"
        else:
            params, paper = 0, "-"
        rows.append((LABELS[m], f"{seconds:.2f}", f"{seconds / pixels * 1e6:.1f}", paper, params))
    header = ["method", "s per cube (CPU)", "s per megapixel (CPU)", "paper: s per 1300x1300 (GPU)", "learned parameters"]
    return markdown_table(header, rows)


def _pixels(fold: str) -> int:
    from deq.models.hsi.data import load_scene

    return int(np.prod(load_scene(fold).cube.shape[-2:]))


def _figure(path: Path, curves: dict, xs: Sequence[int], **kwargs: Any) -> Path:
    from deq.core.plots import save_curves

    return save_curves(path, {LABELS[k]: (list(xs), v) for k, v in curves.items()}, **kwargs)


def _curve_table(curves: dict, xs: Sequence[int], label: str) -> str:
    return markdown_table(
        ["model", *[f"{label}={x}" for x in xs]], [(LABELS[k], *[f"{p:.2f}" for p in v]) for k, v in curves.items()]
    )


def main(argv: list[str] | None = None) -> int:
    """Reproduce the paper's hyperspectral experiments and write the ``hsi`` results section."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="deq bench hsi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA or ../shared/data)")
    parser.add_argument("--runs", default=None, help="use RUNS/FOLD/{dict,MODEL}/weights.pt instead of the shipped weights")
    parser.add_argument(
        "--blind", action="store_true", help="the blind weights at every level (not those trained at sigma 30 alone)"
    )
    parser.add_argument("--folds", nargs="+", choices=FOLDS, default=list(FOLDS), help="held-out scenes (default: all)")
    parser.add_argument("--sigmas", nargs="+", type=int, default=list(SIGMAS), help="noise levels, 0-255 (default: 30 50 70)")
    parser.add_argument("--methods", nargs="+", choices=(*BASELINES, CNN, *MODELS), default=[*BASELINES, CNN, *MODELS])
    parser.add_argument("--curve-sigma", type=int, default=50, help="noise level of Fig. 6 and 7")
    parser.add_argument("--ks", default=",".join(map(str, KS)), help="iteration counts of Fig. 7")
    parser.add_argument("--blocks", default=",".join(map(str, BLOCKS)), help="block sizes of Fig. 6")
    parser.add_argument("--skip-figures", action="store_true", help="only the tables (no Fig. 6 and 7)")
    parser.add_argument("--out", default=None, help="results file (default: docs/benchmarks.md of the deq checkout)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = results_file(args.out)
    sources = Sources(Path(args.runs) if args.runs else None, args.blind)
    t_start = time.perf_counter()
    print("1. Table I", flush=True)
    results, choices = run_table(sources, args.folds, args.sigmas, args.methods, args.data_dir)
    parts = [
        f"## Hyperspectral denoising (deq-models-hsi)\n\nProduced by `{command_line('deq bench hsi', argv)}` on "
        f"{platform.machine()} CPU, {torch.get_num_threads()} thread(s), torch {torch.__version__}, shared with other jobs "
        "(times are indicative). Test scenes: each of HYDICE urban, ABU beach and ABU urban (prepared to 31 bands, see "
        "docs/hsi.md) denoised by the models of the fold that held it out of all training. **The paper's numbers (in "
        "parentheses) are on ICVL, another dataset**: brighter, smoother natural scenes, 1300 x 1300; ours are 100 x 100 "
        "remote-sensing cubes. " + weights_note(args.blind),
        "### Table I counterpart: mean over the three held-out scenes, ours (paper, ICVL)",
        table_one(results, args.sigmas, args.methods),
        "PSNR per held-out scene:",
        table_per_fold(results, args.sigmas, args.methods),
    ]
    if choices:
        parts += ["Baseline parameters chosen on the validation rows of each fold's training scenes:", table_choices(choices)]
    if args.curve_sigma in args.sigmas:
        parts += [
            f"### Table III / Fig. 8: time per cube and learnable parameters (sigma = {args.curve_sigma})",
            timing_table(results, args.curve_sigma, args.methods, sources, args.folds[0]),
        ]
    if not args.skip_figures:
        ks = tuple(int(k) for k in args.ks.split(","))
        print("2. Fig. 7", flush=True)
        curves = iteration_curves(sources, args.folds, args.curve_sigma, ks, args.data_dir)
        fig7 = _figure(
            out.with_name("hsi_iterations.png"),
            curves,
            ks,
            xlabel="inference iterations",
            title=f"PSNR against iterations (sigma {args.curve_sigma}, mean of {len(args.folds)} held-out scenes)",
            log_x=True,
            marks={"DU trained depth K=10": 10},
        )
        parts += [
            f"### Fig. 7: PSNR against inference iterations (sigma = {args.curve_sigma}, mean over held-out scenes)",
            "DU: the trained stage iterated k times (trained for K = 10); DEQ: k Anderson iterations (trained with 20).",
            _curve_table(curves, ks, "k"),
            f"![iterations]({fig7.name})",
        ]
        blocks = tuple(int(n) for n in args.blocks.split(","))
        print("3. Fig. 6", flush=True)
        sweep = block_sweep(sources, args.folds, args.curve_sigma, blocks, args.data_dir)
        fig6 = _figure(
            out.with_name("hsi_block_size.png"),
            sweep,
            blocks,
            xlabel="block side n",
            title=f"PSNR against the block size (sigma {args.curve_sigma}, mean of {len(args.folds)} held-out scenes)",
        )
        parts += [
            f"### Fig. 6: PSNR against the block size n (sigma = {args.curve_sigma}, mean over held-out scenes)",
            "Models trained on 20 x 20 blocks, applied with block side n (the paper trains one model per n).",
            _curve_table(sweep, blocks, "n"),
            f"![block size]({fig6.name})",
        ]
    parts.append(f"Total benchmark time: {time.perf_counter() - t_start:.0f} s.")
    text = "\n\n".join(parts)
    print(text)
    if not args.no_write:
        print(f"wrote section 'hsi' of {write_section('hsi', text, out)}")
    return 0
