"""Command-line entry points: ``deq reconstruct sci`` for users' own data, and ``deq train-sci``.

    deq reconstruct sci --input meas.mat --mask mask.mat --output out/ [--method de-gap]

``--input`` holds ``meas`` ``(H, W)`` or ``(H, W, N)`` (and optionally ``mask`` and ``orig``); ``--mask``
holds ``mask`` ``(H, W, B)``. Writes ``out/recon.mat`` (``recon`` ``(H, W, N B)`` on the input's intensity
scale) and ``out/recon_frames.png``; prints PSNR/SSIM when ``orig`` is present.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

METHODS = ("de-gap", "gap-tv", "pnp-gap", "pnp-admm", "de-rnn")


def add_reconstruct(subparsers: Any) -> None:
    """Register ``sci`` under ``deq reconstruct``."""
    p = subparsers.add_parser(
        "sci", help="video snapshot compressive imaging (CACTI) .mat files", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--input", required=True, help=".mat with meas (H, W[, N]) and optionally mask, orig")
    p.add_argument("--mask", default=None, help=".mat with mask (H, W, B) (default: the input's mask)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--method", choices=METHODS, default="de-gap")
    p.add_argument("--weights", default=None, help="DE-GAP weight file (default: the shipped one)")
    p.add_argument("--max-iter", type=int, default=None, help="solver / GAP iterations")
    p.add_argument("--scale", type=float, default=None, help="intensity unit of the data (default: automatic)")
    p.add_argument("--frames", type=int, default=None, help="expected B (frames per snapshot); checked against the mask")
    p.set_defaults(func=reconstruct_command)


def add_train(subparsers: Any) -> None:
    """Register ``deq train-sci``."""
    from deq.models.sci.train import main

    t = subparsers.add_parser("train-sci", help="train DE-GAP or DE-RNN for video SCI", add_help=False)
    t.add_argument("rest", nargs="...")
    t.set_defaults(func=lambda args: main(args.rest))


def build_model(method: str, weights: str | None, max_iter: int | None) -> Any:
    """The reconstruction model for ``--method``."""
    from deq.models.sci.models import GapTV, PnPADMM, PnPGAP

    if method in ("de-gap", "de-rnn"):
        from deq.models.sci.weights import load_weights

        return load_weights(weights, model=method, **({"max_iter": max_iter} if max_iter else {}))
    if method == "gap-tv":
        return GapTV(**({"n_iter": max_iter} if max_iter else {}))
    if method in ("pnp-gap", "pnp-admm"):
        return (PnPGAP if method == "pnp-gap" else PnPADMM)(**({"iters": max(1, max_iter // 4)} if max_iter else {}))
    raise ValueError(f"--method {method}: expected one of {', '.join(METHODS)}")


def load_user_data(input_path: str, mask_path: str | None, scale: float | None, frames: int | None):
    """The :class:`~deq.models.sci.io.CactiData` of ``--input`` / ``--mask`` with the B check of ``--frames``."""
    from deq.models.sci.io import SCIDataError, build_cacti, load_mask_mat, pick_array, read_mat

    arrays = read_mat(input_path)
    meas = pick_array(arrays, ("meas", "y"), Path(input_path))
    mask = load_mask_mat(mask_path) if mask_path else pick_array(arrays, ("mask", "Phi"), Path(input_path), required=False)
    if mask is None:
        raise SCIDataError(f"'{input_path}' holds no mask; pass --mask mask.mat with mask (H, W, B)")
    b = mask.shape[2] if mask.ndim == 3 else 1
    if frames is not None and frames != b:
        raise SCIDataError(f"--frames {frames} but the mask holds B = {b} frames (mask shape {mask.shape}, (H, W, B))")
    orig = pick_array(arrays, ("orig",), Path(input_path), required=False)
    return build_cacti(
        meas, mask, orig, scale=scale, name=Path(input_path).stem, where=f"'{input_path}' + '{mask_path or input_path}'"
    )


def reconstruct_command(args: argparse.Namespace) -> int:
    """``deq reconstruct sci``: reconstruct every snapshot of ``--input`` (progress bar), write the results."""
    from tqdm import tqdm

    from deq.core.metrics import psnr, ssim
    from deq.models.sci.figures import save_grid
    from deq.models.sci.io import save_reconstruction_mat
    from deq.operators.sci import CACTI

    data = load_user_data(args.input, args.mask, args.scale, args.frames)
    model = build_model(args.method, args.weights, args.max_iter)
    op = CACTI(data.mask)
    recon = []
    t0 = time.perf_counter()
    for n in tqdm(range(data.n_groups), desc=f"{args.method} ({data.compression} frames/snapshot)", unit="snapshot"):
        recon.append(model.reconstruct(data.meas_batch()[n : n + 1], op)[:, 0].clamp(0, 1))
    video = torch.cat(recon)
    seconds = time.perf_counter() - t0
    out = Path(args.output)
    mat = save_reconstruction_mat(out / "recon.mat", video, scale=data.scale)
    png = save_grid(out / "recon_frames.png", {args.method: video[0]}, measurement=data.meas[0])
    print(f"{args.method}: {data.n_groups} snapshot(s) of {data.compression} frames in {seconds:.1f} s")
    if data.orig is not None:
        p, s = psnr(video, data.orig), ssim(video, data.orig)
        print(
            f"PSNR {float(p.mean()):.2f} dB, SSIM {float(s.mean()):.4f} "
            f"(per snapshot: {', '.join(f'{v:.2f}' for v in p.tolist())})"
        )
    print(f"wrote {mat} and {png}")
    return 0
