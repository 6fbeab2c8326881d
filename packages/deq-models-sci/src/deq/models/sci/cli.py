"""``deq reconstruct sci`` for users' own measurements, and the choice of SCI models by registry name that it
shares with ``deq demo sci`` and ``deq bench sci``.

    deq reconstruct sci --input meas.mat --mask mask.mat --output out/ [--method de-gap] [--fast] [--max-iter N]
        [--opt KEY=VALUE]

``--input`` holds ``meas`` ``(H, W)`` or ``(H, W, N)`` (and optionally ``mask`` and ``orig``); ``--mask``
holds ``mask`` ``(H, W, B)``. Writes ``out/recon.mat`` (``recon`` ``(H, W, N B)`` on the input's intensity
scale) and ``out/recon_frames.png``; prints PSNR/SSIM when ``orig`` is present.
"""

from __future__ import annotations

import argparse
import inspect
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from deq.core.cli import parse_options
from deq.core.errors import WeightsError
from deq.core.registry import components, create, get
from deq.models.sci.models import (
    ACCEL_DEGAP,
    ACCEL_DERNN,
    ACCEL_PLAIN,
    ACCEL_PRESETS,
    DERNN_START,
    FAST_PRESETS,
    describe_fast_settings,
)

#: the distribution whose registered models are the SCI methods
DISTRIBUTION = "deq-models-sci"


def sci_models() -> list[str]:
    """Registry names of the SCI models (those deq-models-sci registers): the methods of ``deq reconstruct sci``,
    ``deq demo sci`` and ``deq bench sci``."""
    return [c.name for c in components("model") if c.distribution == DISTRIBUTION]


def build_model(name: str, weights: str | None = None, **options: Any) -> Any:
    """The SCI model ``name`` ready to reconstruct: ``create("model", name, pretrained=True, weights=weights,
    **options)``, i.e. with its trained weights (the file ``weights``, or the shipped one) where it has any.

    ``max_iter`` in ``options`` is an equilibrium model's solver iterations; an option the model does not take is
    an error that lists the ones it takes.
    """
    if name not in sci_models():
        raise ValueError(f"unknown SCI method '{name}'; registered: {', '.join(sci_models())}")
    if "max_iter" in options and "solver" in inspect.signature(get("model", name).obj).parameters:
        # an equilibrium model: the solver's iterations in evaluation, where reconstruct runs
        n = options.pop("max_iter")
        options["solver"] = {**options.get("solver", {}), "max_iter": n, "eval_max_iter": n}
    return create("model", name, pretrained=True, weights=weights, **options)


def build_methods(
    names: Iterable[str], weights: Mapping[str, str | None], options: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The models ``names`` (:func:`build_model` with ``weights[name]`` and ``options[name]``), and a note for each
    one skipped because its *shipped* weights are not installed. A weight file given explicitly that cannot be
    loaded is an error (:class:`~deq.core.errors.WeightsError`), never a skip."""
    methods: dict[str, Any] = {}
    notes: list[str] = []
    for name in names:
        given = weights.get(name)
        try:
            methods[name] = build_model(name, given, **options.get(name, {}))
        except WeightsError as exc:
            if given is not None:
                raise
            notes.append(f"{name} skipped: its shipped weights are not available: {exc}")
    return methods, notes


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


def main(argv: list[str] | None = None) -> int:
    """Reconstruct video SCI measurements (.mat files) with a registered SCI model."""
    methods = sci_models()
    parser = argparse.ArgumentParser(prog="deq reconstruct sci", description=__doc__.split("\n\n")[2])
    parser.add_argument("--input", required=True, help=".mat with meas (H, W[, N]) and optionally mask, orig")
    parser.add_argument("--mask", default=None, help=".mat with mask (H, W, B) (default: the input's mask)")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--method", choices=methods, default="de-gap", help="registered SCI model (default: de-gap)")
    parser.add_argument("--weights", default=None, help="weight file of a learned method (default: the shipped one)")
    parser.add_argument(
        "--denoiser-weights",
        default=None,
        help="pnp-gap / pnp-admm: the denoiser, a deq prior weight file or a published FFDNet/DnCNN checkpoint "
        "(e.g. the IPOL net_gray.pth; default: deq-priors' shipped ffdnet-gray)",
    )
    parser.add_argument(
        "--max-iter", type=int, default=None, help="equilibrium solver iterations of de-gap / de-rnn (default: the weights')"
    )
    parser.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the method, repeatable (`deq info METHOD` lists them), e.g. n_iter=40 (gap-tv's GAP "
        "iterations), iters=10 (pnp-gap's iterations per noise level)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"de-gap: the fast inference settings FAST_DEGAP ({describe_fast_settings()}; about 4x faster on a CPU "
        f"with AVX512-BF16, see docs/sci.md); de-rnn: DERNN_START ({describe_fast_settings(DERNN_START)})",
    )
    parser.add_argument(
        "--accelerated",
        action="store_true",
        help="the accelerated GAP state, whose fixed points fit the data and keep more of the motion (docs/sci.md): "
        "de-gap: weights trained in that state (default --weights: the shipped degap_ffdnet_accel.pt, the better of the "
        "two shipped on held-out clips; degap_cnn_accel.pt is faster, see docs/sci.md) with "
        f"ACCEL_DEGAP ({describe_fast_settings(ACCEL_DEGAP)}); de-rnn: the same weights with ACCEL_DERNN "
        f"({describe_fast_settings(ACCEL_DERNN)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"de-gap under 2 s per 256x256x8 measurement on a 2-core CPU: the weights trained in the accelerated GAP "
        f"state (default --weights: the shipped degap_cnn_accel.pt) as {ACCEL_PLAIN['warm_start']} GAP-TV iterations "
        f"and {ACCEL_PLAIN['applications']} plain applications of the map, no equilibrium solve (ACCEL_PLAIN, "
        "docs/sci.md 'Fast inference')",
    )
    parser.add_argument("--scale", type=float, default=None, help="intensity unit of the data (default: automatic)")
    parser.add_argument("--frames", type=int, default=None, help="expected B (frames per snapshot); checked against the mask")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    from deq.core.metrics import psnr, ssim
    from deq.models.sci.figures import save_grid
    from deq.models.sci.io import save_reconstruction_mat
    from deq.operators.sci import CACTI

    options = parse_options(args.opt)
    if args.fast + args.accelerated + args.quick > 1:
        raise ValueError("--fast, --accelerated and --quick are presets of de-gap's inference: give one")
    if args.fast or args.accelerated:
        flag, presets = ("--accelerated", ACCEL_PRESETS) if args.accelerated else ("--fast", FAST_PRESETS)
        if args.method not in presets:
            raise ValueError(f"{flag} applies to {' and '.join(presets)}, not {args.method}")
        preset = presets[args.method]
        options = {**preset, **options, "solver": {**preset["solver"], **options.get("solver", {})}}
    weights = args.weights
    if args.accelerated and args.method == "de-gap" and weights is None:
        from deq.models.sci.weights import ACCEL_FFDNET_WEIGHTS

        weights = str(ACCEL_FFDNET_WEIGHTS)
    applications = None
    if args.quick:
        from deq.models.sci.weights import ACCEL_WEIGHTS

        if args.method != "de-gap":
            raise ValueError(f"--quick applies to de-gap, not {args.method}")
        if args.max_iter is not None:
            raise ValueError("--quick runs a fixed number of map applications, no solve: drop --max-iter")
        weights = weights or str(ACCEL_WEIGHTS)
        options = {"warm_start": ACCEL_PLAIN["warm_start"], **options}
        applications = ACCEL_PLAIN["applications"]
    if args.max_iter is not None:
        options["max_iter"] = args.max_iter
    if args.denoiser_weights is not None:
        from deq.priors.published import load_denoiser

        options["denoiser"] = load_denoiser(args.denoiser_weights)
    data = load_user_data(args.input, args.mask, args.scale, args.frames)
    model = build_model(args.method, weights, **options)
    op = CACTI(data.mask)
    recon = []
    t0 = time.perf_counter()
    for n in tqdm(range(data.n_groups), desc=f"{args.method} ({data.compression} frames/snapshot)", unit="snapshot"):
        y = data.meas_batch()[n : n + 1]
        if applications:
            with torch.no_grad():
                x = model.iterate(y, op, applications)
        else:
            x = model.reconstruct(y, op)
        recon.append(x[:, 0].clamp(0, 1))
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
