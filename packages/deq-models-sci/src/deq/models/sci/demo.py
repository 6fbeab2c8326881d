"""``deq demo sci``: the project's main demo, on embedded data only.

A synthetic moving scene made from scikit-image's ``camera`` photograph is coded with a random binary
mask into one snapshot, reconstructed with GAP-TV, PnP-GAP (deq-priors' shipped AWGN denoiser) and DE-GAP
(this package's shipped weights); the demo prints a PSNR/SSIM/time table and writes a PNG grid and an
animated GIF to the output folder. Methods are registered SCI models chosen by name (``--methods``); a method
whose shipped weights are not installed is reported and skipped, while a weight file given with ``--weights``
must load.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from deq.core.bench import markdown_table
from deq.core.metrics import psnr, ssim
from deq.models.sci.cli import build_methods, sci_models
from deq.models.sci.figures import save_gif, save_grid
from deq.models.sci.synthetic import demo_scene

#: the demo's methods by default (registry names), and the learned one that --weights and --max-iter configure
DEMO_METHODS = ("gap-tv", "pnp-gap", "de-gap")
LEARNED = "de-gap"


def main(argv: list[str] | None = None) -> int:
    """The main demo: a coded snapshot of an embedded moving scene reconstructed by GAP-TV, PnP-GAP and DE-GAP."""
    parser = argparse.ArgumentParser(prog="deq demo sci", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="deq-demo-output", help="output folder (default: deq-demo-output/)")
    parser.add_argument("--size", type=int, default=128, help="frame size in pixels (default 128)")
    parser.add_argument("--frames", type=int, default=8, help="frames per snapshot B (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="mask seed")
    parser.add_argument("--weights", default=None, help=f"{LEARNED} weight file (default: the shipped one)")
    parser.add_argument(
        "--max-iter", type=int, default=None, help=f"{LEARNED}'s equilibrium solver iterations (default: the weights')"
    )
    parser.add_argument(
        "--methods",
        default=",".join(DEMO_METHODS),
        help=f"comma-separated registered SCI models (default {','.join(DEMO_METHODS)}; any of {','.join(sci_models())})",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(names) - set(sci_models()))
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)}; registered SCI models: {', '.join(sci_models())}")
    if LEARNED not in names and (args.weights is not None or args.max_iter is not None):
        parser.error(f"--weights and --max-iter configure {LEARNED}, which is not in --methods")
    if args.threads:
        torch.set_num_threads(args.threads)
    from deq.operators.sci import CACTI

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    video, mask = demo_scene(args.size, args.frames, args.seed)
    op = CACTI(mask)
    y = op(video)
    print(f"deq demo sci: camera scene {args.frames}x{args.size}x{args.size} in one coded snapshot (B = {args.frames})")
    options = {LEARNED: {"max_iter": args.max_iter}} if args.max_iter is not None else {}
    methods, notes = build_methods(names, {LEARNED: args.weights}, options)
    for note in notes:
        print("  NOTE:", note)
    recons, rows = {"ground truth": video}, []
    captions = {}
    for name, model in methods.items():
        t0 = time.perf_counter()
        x = model.reconstruct(y, op).clamp(0, 1)
        seconds = time.perf_counter() - t0
        p, s = float(psnr(x, video)), float(ssim(x, video))
        rows.append((name, f"{p:.2f}", f"{s:.4f}", f"{seconds:.1f}"))
        recons[name] = x
        captions[name] = f"{p:.2f} dB"
        print(f"  {name:9s} PSNR {p:6.2f} dB  SSIM {s:.4f}  {seconds:6.1f} s", flush=True)
    print()
    print(markdown_table(["method", "PSNR (dB)", "SSIM", "time (s)"], rows))
    grid = save_grid(out / "sci_demo_frames.png", recons, measurement=y, captions=captions)
    gif = save_gif(out / "sci_demo.gif", recons)
    print(f"\nwrote {grid} and {gif} (left to right: {', '.join(recons)})")
    print(f"output folder: {out.resolve()}")
    return 0
