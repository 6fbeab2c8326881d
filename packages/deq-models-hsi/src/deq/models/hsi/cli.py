"""``deq reconstruct hsi``: denoise a user's own hyperspectral cube with a registered sparse-coding model, and the
choice of those models by registry name that ``deq bench hsi`` shares.

    deq reconstruct hsi --input cube.mat --output out/ [--key data] [--method deq-fast-sc] [--weights W.pt]
                        [--sigma 30] [--add-noise 30] [--block 20] [--opt KEY=VALUE]

``--input`` is a ``.mat`` file (v5 or v7.3) holding an ``(H, W, C)`` cube (``--key``, default: the only 3-D array).
Unless ``--no-prepare``, it is prepared as the training scenes were (:func:`deq.models.hsi.data.prepare_cube`: dead
and saturated bands dropped, ``C`` binned to 31 bands, divided by its 99.9th percentile). ``--add-noise SIGMA``
treats the input as clean, adds AWGN of that level (0-255 scale) and reports PSNR/SSIM/SAM; otherwise the input is
the noisy cube. ``--sigma`` is the noise level (default: the ``--add-noise`` level): the baselines (``batch-omp-sc``,
``lasso-sc``) need it, and with the shipped weights the learned models use those trained at that level where there
are some (sigma 30), the blind ones otherwise (:func:`deq.models.hsi.weights.shipped`).
Writes ``out/denoised.mat`` (``denoised`` ``(H, W, 31)`` on the prepared ``[0, 1]`` scale,
``scale`` and ``band_groups``) and ``out/denoised.png`` (false colour: bands 25/15/5 as RGB).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deq.core.cli import parse_options
from deq.core.errors import DataError
from deq.core.registry import components, create

#: the distribution whose registered models are the hyperspectral methods
DISTRIBUTION = "deq-models-hsi"
#: the baselines, which need the noise level
BASELINES = ("batch-omp-sc", "lasso-sc")


def hsi_models() -> list[str]:
    """Registry names of the hyperspectral models (those deq-models-hsi registers)."""
    return [c.name for c in components("model") if c.distribution == DISTRIBUTION]


def build_model(name: str, weights: str | None = None, *, sigma: float | None = None, **options: Any) -> Any:
    """The model ``name`` with its trained weights (the file ``weights``, or the shipped one): ``create("model", name,
    pretrained=True, weights=weights, **options)``. The baselines need the noise level ``sigma`` (0-255); the learned
    models take it to choose among the shipped weights (ignored with a ``weights`` file)."""
    if name not in hsi_models():
        raise ValueError(f"unknown hyperspectral method '{name}'; registered: {', '.join(hsi_models())}")
    if name in BASELINES and sigma is None:
        raise ValueError(f"{name} needs the noise level: pass --sigma (0-255 scale)")
    if sigma is not None and (name in BASELINES or weights is None):
        options["sigma"] = sigma
    return create("model", name, pretrained=True, weights=weights, **options)


def read_cube(path: str, key: str | None) -> np.ndarray:
    """The ``(H, W, C)`` array ``key`` of a ``.mat`` file (default: its only 3-D numeric array)."""
    from deq.core.images import read_mat

    arrays = read_mat(path)
    if key is not None:
        if key not in arrays:
            raise DataError(f"'{path}' has no key {key!r}; keys present: {sorted(arrays)}")
        cube = np.asarray(arrays[key])
    else:
        cubes = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray) and v.ndim == 3 and v.dtype.kind in "fiu"}
        if len(cubes) != 1:
            raise DataError(f"'{path}' holds {len(cubes)} 3-D arrays ({sorted(cubes)}); choose one with --key")
        cube = next(iter(cubes.values()))
    if cube.ndim != 3:
        raise DataError(f"'{path}' key {key!r}: expected an (H, W, C) cube, got shape {cube.shape}")
    return cube


def false_colour(cube: torch.Tensor) -> np.ndarray:
    """``[31, H, W]`` in ``[0, 1]`` -> ``(H, W, 3)`` uint8 with bands 25, 15, 5 (long to short wavelengths) as RGB."""
    rgb = cube[[25, 15, 5]].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return (rgb * 255 + 0.5).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    """Denoise a hyperspectral cube (.mat) with a registered sparse-coding model."""
    methods = hsi_models()
    p = argparse.ArgumentParser(prog="deq reconstruct hsi", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help=".mat file with an (H, W, C) cube")
    p.add_argument("--key", default=None, help="the cube's key in the file (default: its only 3-D array)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--method", choices=methods, default="deq-fast-sc", help="registered model (default: deq-fast-sc)")
    p.add_argument("--weights", default=None, help="weight (or, for the baselines, dictionary) file; default: shipped")
    p.add_argument("--sigma", type=float, default=None, help="noise level (0-255): baselines, choice of shipped weights")
    p.add_argument("--add-noise", type=float, default=None, help="treat the input as clean: add AWGN of this level (0-255)")
    p.add_argument("--seed", type=int, default=0, help="seed of --add-noise")
    p.add_argument("--block", type=int, default=None, help="block side n of the learned models (default: the weights')")
    p.add_argument("--no-prepare", action="store_true", help="use the cube as it is (31 bands, intensities in [0, 1])")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="model option, repeatable")
    args = p.parse_args(argv)
    from PIL import Image

    from deq.core.metrics import psnr, sam, ssim
    from deq.models.hsi.data import BANDS, add_noise, prepare_cube
    from deq.operators.simple import Denoising

    raw = read_cube(args.input, args.key)
    if args.no_prepare:
        if raw.shape[2] != BANDS:
            raise DataError(f"--no-prepare needs a cube of {BANDS} bands, '{args.input}' has {raw.shape[2]}")
        cube, scale, groups = torch.from_numpy(np.asarray(raw, dtype=np.float32)).permute(2, 0, 1), 1.0, None
    else:
        cube, prep = prepare_cube(raw)
        scale, groups = prep.scale, prep.groups
    clean = None
    if args.add_noise is not None:
        clean, cube = cube, add_noise(cube, args.add_noise, seed=args.seed)
    options = parse_options(args.opt)
    if args.block is not None and args.method not in BASELINES:
        options["block"] = args.block
    sigma = args.sigma if args.sigma is not None else args.add_noise
    model = build_model(args.method, args.weights, sigma=sigma, **options)
    t0 = time.perf_counter()
    out = model.reconstruct(cube[None], Denoising())[0].clamp(0, 1)
    seconds = time.perf_counter() - t0
    dest = Path(args.output)
    dest.mkdir(parents=True, exist_ok=True)
    import scipy.io

    mat = dest / "denoised.mat"
    extra = {"band_groups": np.array([list(g) for g in groups], dtype=object)} if groups else {}
    scipy.io.savemat(mat, {"denoised": out.permute(1, 2, 0).numpy(), "scale": scale, **extra})
    png = dest / "denoised.png"
    Image.fromarray(np.concatenate([false_colour(cube), false_colour(out)], axis=1)).save(png)
    h, w = cube.shape[-2:]
    print(f"{args.method}: {h} x {w} x {cube.shape[0]} cube in {seconds:.1f} s")
    if clean is not None:
        x, r = out[None], clean[None]
        print(
            f"PSNR {float(psnr(x, r)):.2f} dB (noisy {float(psnr(cube[None].clamp(0, 1), r)):.2f}), "
            f"SSIM {float(ssim(x, r)):.4f}, SAM {float(sam(x, r)):.4f} rad"
        )
    print(f"wrote {mat} and {png} (left: input, right: denoised)")
    return 0
