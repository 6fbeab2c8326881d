"""``deq reconstruct mismatch``: a user's own CS-MRI k-space (SD-RED) or low-resolution image (PnP-PGM).

    deq reconstruct mismatch mri --kspace k.npy --mask mask.mat --output out/ [--prior ar|NAME|FILE] [--tau T]
    deq reconstruct mismatch mri --image brain.png --ratio 20 --output out/          # simulate k-space first
    deq reconstruct mismatch sr --input lr.png --kernel 1 --scale 3 --output out/ [--prior ...]
    deq reconstruct mismatch sr --image hr.png --kernel k.npy --scale 3 --output out/  # simulate y = S H x + 0.03 n

MRI: ``--kspace`` is a complex ``(H, W)`` array (``.npy``, or ``.mat`` with ``--key``) in torch's unshifted layout
(DC at index ``(0, 0)``; ``--centered`` for DC at the centre), orthonormal FFT scale (the image in ``[0, 1]``);
unsampled entries are masked out. ``--mask`` is a ``.mat``/``.npy`` ``(H, W)`` mask, or ``--ratio`` one of the
ISTA-Net radial masks in the data folder. SR: ``--input`` an RGB image (PNG/BMP), ``--kernel`` an index of
``kernels_12.mat`` in the data folder or a ``.npy``/``.mat`` kernel. ``--prior ar`` (default) is the shipped
DEQ-trained AR prior; a shipped AWGN prior name (``deq reconstruct mismatch mri --help`` lists them) or a deq
weight file plugs another. Writes ``out/recon.png`` and ``out/recon.npy`` (and the zero-filled / bicubic start);
with ``--image`` (or ``--truth``) prints the PSNR.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from deq.core.errors import DataError
from deq.core.images import read_image, read_mat
from deq.core.metrics import psnr
from deq.models.mismatch import data
from deq.models.mismatch.bench import MODEL, tau_ref
from deq.models.mismatch.weights import AWGN_PATTERN, available, resolve


def _array(path: str, key: str | None, what: str) -> np.ndarray:
    """A numeric array from ``.npy`` or ``.mat`` (``key``, default the file's only array)."""
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    arrays = {k: v for k, v in read_mat(path).items() if isinstance(v, np.ndarray) and v.dtype.kind in "fiuc"}
    if key is None:
        if len(arrays) != 1:
            raise DataError(f"'{path}' holds {sorted(arrays) or 'no'} numeric arrays; name the {what} with --key")
        key = next(iter(arrays))
    if key not in arrays:
        raise DataError(f"'{path}' has no numeric array {key!r}; it holds {sorted(arrays)}")
    return np.asarray(arrays[key])


def build_model(task: str, prior: str, tau: float | None, iters: int) -> torch.nn.Module:
    """SD-RED (``mri``) or PnP-PGM (``sr``) with the prior ``prior``: ``"ar"`` (shipped AR model), a shipped AWGN
    prior name, or a deq weight file of a prior or of the model; ``tau`` defaults to the AR model's trained weight
    or, for an AWGN prior, the reference weight of its noise level (:func:`deq.models.mismatch.bench.tau_ref`)."""
    from deq.core.registry import create
    from deq.core.weights import read_weights

    solver = {"max_iter": iters, "eval_max_iter": iters}
    name = MODEL[task]
    match = AWGN_PATTERN.match(prior)
    if prior == "ar" or (not match and read_weights(resolve(prior)[0])["kind"] == "model"):
        options: dict[str, Any] = {"pretrained": True, "weights": None if prior == "ar" else prior}
    else:
        options = {"prior": prior}
        if tau is None and match:
            tau = tau_ref(task, float(match.group(3)) / 255)
    model = create("model", name, **options, solver=solver, **({"tau": tau} if tau is not None else {}))
    return model.eval()


def _mri_problem(args: argparse.Namespace) -> tuple[Tensor, Any, Tensor | None]:
    if args.mask:
        mask = torch.from_numpy(_array(args.mask, None, "mask").astype(np.float32))
    else:
        mask = data.mri_mask(args.ratio, args.data_dir)
    if args.centered:
        mask = torch.fft.ifftshift(mask)
    op = data.mri_operator(mask)
    truth = read_image(args.truth or args.image, 1)[None] if (args.truth or args.image) else None
    if args.kspace:
        k = torch.from_numpy(_array(args.kspace, args.key, "k-space")).to(torch.complex64)
        if k.dim() != 2 or tuple(k.shape) != tuple(mask.shape):
            raise DataError(
                f"--kspace: expected a complex (H, W) array of the mask's shape {tuple(mask.shape)}, got {tuple(k.shape)}"
            )
        if args.centered:
            k = torch.fft.ifftshift(k)
        y = (mask * k)[None, None]
    else:
        if truth is None:
            raise DataError("pass --kspace FILE (measured k-space) or --image FILE (to simulate it)")
        y = op(truth)
    return y, op, truth


def _sr_problem(args: argparse.Namespace) -> tuple[Tensor, Any, Tensor | None]:
    if args.kernel.isdigit():
        kernel = data.sr_kernels([int(args.kernel)], args.data_dir)[0]
    else:
        kernel = torch.from_numpy(_array(args.kernel, args.key, "kernel").astype(np.float32))
        kernel = kernel / kernel.sum()
    op = data.sr_operator(kernel, args.scale)
    truth = read_image(args.truth or args.image, 3)[None] if (args.truth or args.image) else None
    if args.input:
        y = read_image(args.input, 3)[None]
    else:
        if truth is None:
            raise DataError("pass --input LOW_RES_IMAGE or --image HIGH_RES_IMAGE (to simulate y = S H x + 0.03 n)")
        truth = data.crop_to_multiple(truth, args.scale)
        g = torch.Generator().manual_seed(0)
        y = op(truth) + data.SR_NOISE * torch.randn(op(truth).shape, generator=g)
    if truth is not None and tuple(truth.shape[-2:]) != (y.shape[-2] * args.scale, y.shape[-1] * args.scale):
        truth = data.crop_to_multiple(truth, args.scale)
    return y, op, truth


def _save(out: Path, name: str, image: Tensor) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = image[0].detach().clamp(0, 1).numpy()
    a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    out.mkdir(parents=True, exist_ok=True)
    plt.imsave(out / f"{name}.png", a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
    np.save(out / f"{name}.npy", image[0].detach().numpy())
    return out / f"{name}.png"


def main(argv: list[str] | None = None) -> int:
    """Reconstruct your own CS-MRI k-space (SD-RED) or low-resolution image (PnP-PGM) with the AR or an AWGN prior."""
    shipped = ", ".join(n for n in available() if AWGN_PATTERN.match(n)) or "none installed"
    p = argparse.ArgumentParser(
        prog="deq reconstruct mismatch", description=__doc__.split("\n\n")[0] + f" Shipped AWGN priors: {shipped}."
    )
    p.add_argument("task", choices=("mri", "sr"), help="mri: CS-MRI with SD-RED; sr: super-resolution with PnP-PGM")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--prior", default="ar", help="ar (default), a shipped AWGN prior name, or a deq weight file")
    p.add_argument("--tau", type=float, default=None, help="regularisation weight (default: see build_model)")
    p.add_argument("--iters", type=int, default=100, help="Nesterov iterations")
    p.add_argument("--image", default=None, help="a ground-truth image to simulate the measurement from")
    p.add_argument("--truth", default=None, help="a ground-truth image for the PSNR")
    p.add_argument("--key", default=None, help="array name inside a .mat file")
    p.add_argument("--data-dir", default=None, help="benchmark data root (ISTA masks, kernels_12.mat)")
    m = p.add_argument_group("mri")
    m.add_argument("--kspace", default=None, help="measured k-space, complex (H, W) .npy or .mat")
    m.add_argument("--mask", default=None, help="sampling mask (H, W) .mat or .npy")
    m.add_argument("--ratio", type=int, choices=(10, 20, 30, 40, 50), default=10, help="ISTA-Net radial mask (without --mask)")
    m.add_argument("--centered", action="store_true", help="k-space and mask have DC at the centre")
    s = p.add_argument_group("sr")
    s.add_argument("--input", default=None, help="low-resolution RGB image")
    s.add_argument("--kernel", default="1", help="kernels_12.mat index or a .npy/.mat kernel (default 1: isotropic 1.2 px)")
    s.add_argument("--scale", type=int, default=3, help="super-resolution factor")
    args = p.parse_args(argv)
    if args.prior != "ar" and args.prior not in available() and not Path(args.prior).is_file():
        raise DataError(f"--prior {args.prior!r}: not 'ar', a shipped prior ({', '.join(available())}) or an existing file")
    y, op, truth = _mri_problem(args) if args.task == "mri" else _sr_problem(args)
    model = build_model(args.task, args.prior, args.tau, args.iters)
    start = model.initial(y, op)
    recon = model.reconstruct(y, op).clamp(0, 1)
    out = Path(args.output)
    paths = [_save(out, "recon", recon), _save(out, "start", start)]
    if truth is not None:
        print(
            f"PSNR start {float(psnr(start.clamp(0, 1), truth)[0]):.2f} dB, reconstruction {float(psnr(recon, truth)[0]):.2f} dB"
        )
    print(f"wrote {', '.join(map(str, paths))} (and .npy arrays beside them); prior {args.prior}, tau {model.map.tau:g}")
    return 0
