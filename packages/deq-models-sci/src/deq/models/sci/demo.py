"""``deq demo sci``: the project's main demo, on embedded data only.

A synthetic moving scene made from scikit-image's ``camera`` photograph is coded with a random binary
mask into one snapshot, reconstructed with GAP-TV, PnP-GAP (deq-priors' shipped AWGN denoiser) and DE-GAP
(this package's shipped weights); the demo prints a PSNR/SSIM/time table and writes a PNG grid and an
animated GIF to the output folder. Methods whose weights are not installed are reported and skipped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from deq.core.bench import markdown_table
from deq.core.metrics import psnr, ssim
from deq.models.sci.figures import save_gif, save_grid
from deq.models.sci.synthetic import demo_scene

DEMO_METHODS = ("GAP-TV", "PnP-GAP", "DE-GAP")


def build_methods(
    weights: str | None, max_iter: int | None, names: tuple[str, ...] = DEMO_METHODS
) -> tuple[dict[str, object], list[str]]:
    """The models ``names`` (of :data:`DEMO_METHODS`), and a note for each one that could not be built."""
    from deq.core.checkpoint import WeightsError
    from deq.models.sci.models import GapTV, MissingWeightsError, PnPGAP
    from deq.models.sci.weights import load_weights

    unknown = set(names) - set(DEMO_METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {', '.join(DEMO_METHODS)}")
    methods: dict[str, object] = {"GAP-TV": GapTV()} if "GAP-TV" in names else {}
    notes = []
    if "PnP-GAP" in names:
        try:
            methods["PnP-GAP"] = PnPGAP()
        except MissingWeightsError as exc:
            notes.append(f"PnP-GAP skipped: {exc}")
    if "DE-GAP" in names:
        try:
            methods["DE-GAP"] = load_weights(weights, model="de-gap", **({"max_iter": max_iter} if max_iter else {}))
        except WeightsError as exc:
            notes.append(f"DE-GAP skipped: its shipped weights are not available: {exc}")
    return methods, notes


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns 0 on success."""
    parser = argparse.ArgumentParser(prog="deq demo sci", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="deq-demo-output", help="output folder (default: deq-demo-output/)")
    parser.add_argument("--size", type=int, default=128, help="frame size in pixels (default 128)")
    parser.add_argument("--frames", type=int, default=8, help="frames per snapshot B (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="mask seed")
    parser.add_argument("--weights", default=None, help="DE-GAP weight file (default: the shipped one)")
    parser.add_argument("--max-iter", type=int, default=None, help="DE-GAP solver iterations (default: stored)")
    parser.add_argument("--methods", default=",".join(DEMO_METHODS), help=f"comma-separated subset of {','.join(DEMO_METHODS)}")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from deq.operators.sci import CACTI

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    video, mask = demo_scene(args.size, args.frames, args.seed)
    op = CACTI(mask)
    y = op(video)
    print(f"deq demo sci: camera scene {args.frames}x{args.size}x{args.size} in one coded snapshot (B = {args.frames})")
    methods, notes = build_methods(args.weights, args.max_iter, tuple(m.strip() for m in args.methods.split(",") if m.strip()))
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
        print(f"  {name:8s} PSNR {p:6.2f} dB  SSIM {s:.4f}  {seconds:6.1f} s", flush=True)
    print()
    print(markdown_table(["method", "PSNR (dB)", "SSIM", "time (s)"], rows))
    grid = save_grid(out / "sci_demo_frames.png", recons, measurement=y, captions=captions)
    gif = save_gif(out / "sci_demo.gif", recons)
    print(f"\nwrote {grid} and {gif} (left to right: {', '.join(recons)})")
    print(f"output folder: {out.resolve()}")
    return 0
