"""``deq reconstruct luser``: reconstruct a user's own deblurring, CT or MRI data with a LUSER-paper model.

    deq reconstruct luser --task deblur --image photo.png --output out/            # simulate y from a clean image
    deq reconstruct luser --task deblur --input blurred.png --output out/          # a blurred photo (9x9, variance 5)
    deq reconstruct luser --task ct --input sino.npy --size 32 --model deq4ip --output out/
    deq reconstruct luser --task mri4x --input kspace.npy --mask mask.npy --output out/

``--image``: a clean image (PNG/BMP/TIFF/.mat; resized to ``--size`` for CT and MRI) whose measurement is simulated
as in training (:mod:`deq.models.luser.tasks`); PSNR/SSIM are printed. ``--input``: a measurement. Deblurring: a
blurred RGB image. CT: ``.npy`` or ``.mat`` (key ``sinogram``) of shape ``(200, det)``, the sinogram of
``deq.operators.SparseParallelBeamCT(size, 200)`` (unit pixels; divided here by its norm, as the models expect).
MRI: ``.npy`` or ``.mat`` (key ``kspace``) complex ``(H, W)`` k-space of the orthonormal 2-D FFT (DC at index
``(0, 0)``) with ``--mask`` ``(H, W)`` in {0, 1}. Writes ``recon.png`` and ``recon.npy`` (``[C, H, W]``; MRI: the
magnitude) to ``--output``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from deq.core.errors import DataError
from deq.core.operator import LinearOperator
from deq.models.luser.models import FACTORIES
from deq.models.luser.tasks import TASKS, Task, ct_operator, get_task


def _read_array(path: Path, key: str) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".mat":
        from deq.core.images import read_mat

        arrays = read_mat(path)
        if key not in arrays:
            raise DataError(f"'{path}' has no array {key!r}; it holds {sorted(arrays)}")
        return np.asarray(arrays[key])
    raise DataError(f"'{path}': expected a .npy or .mat file holding {key!r}")


def simulated(task: Task, image_path: str, size: int | None) -> tuple[Tensor, LinearOperator, Tensor]:
    """``(y, A, x)`` for the clean image at ``image_path`` (resized to ``size`` unless deblurring at full size)."""
    from deq.core.images import read_image
    from deq.models.luser.data import resize

    image = read_image(image_path, channels=task.image_channels)
    if size is not None or task.name != "deblur":
        image = resize(image, size or 32)
    x = image[None]
    op = task.operator(x.shape[-1], seeds=[0])
    return task.measure(x, op, torch.Generator().manual_seed(0)), op, x


def measured(task: Task, input_path: str, mask_path: str | None, size: int | None) -> tuple[Tensor, LinearOperator]:
    """``(y, A)`` from a user's measurement file (see the module docstring)."""
    path = Path(input_path)
    if task.name == "deblur":
        from deq.core.images import read_image

        y = read_image(path, channels=3)[None]
        return y, task.operator(y.shape[-1])
    if task.name == "ct":
        sino = torch.from_numpy(np.asarray(_read_array(path, "sinogram"), dtype=np.float32))
        if size is None:
            raise ValueError("--task ct with --input needs --size N: the image size whose sinogram this is")
        op = ct_operator(size)
        want = tuple(op.out_shape[1:])
        if tuple(sino.shape) != want:
            raise DataError(
                f"'{path}': sinogram of shape {tuple(sino.shape)}, expected {want} (views, detector cells) for --size {size}"
            )
        return sino[None, None] * op.scale, op
    if mask_path is None:
        raise ValueError(f"--task {task.name} with --input needs --mask MASK (.npy/.mat, (H, W) in {{0, 1}})")
    from deq.operators.mri import CartesianMRI

    k = np.asarray(_read_array(path, "kspace"))
    mask = torch.from_numpy(np.asarray(_read_array(Path(mask_path), "mask"), dtype=np.float32))
    if not np.iscomplexobj(k) or k.ndim != 2 or tuple(k.shape) != tuple(mask.shape):
        raise DataError(
            f"'{path}': expected complex k-space (H, W) matching the mask {tuple(mask.shape)}, got {k.dtype} {k.shape}"
        )
    kt = torch.from_numpy(k.astype(np.complex64))
    y = torch.stack([kt.real, kt.imag])[None] * mask
    return y, CartesianMRI(mask, representation="real2")


def main(argv: list[str] | None = None) -> int:
    """Reconstruct deblurring, CT or MRI data with LU-DnCNN, DEQ4IP, LUSER-SW or LUSER-DW."""
    parser = argparse.ArgumentParser(prog="deq reconstruct luser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True, help="the inverse problem")
    parser.add_argument("--model", choices=sorted(FACTORIES), default="luser-dw", help="the model (default luser-dw)")
    parser.add_argument("--weights", default=None, help="a weight file (default: the shipped one for --task)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="a clean image: simulate its measurement and report PSNR/SSIM")
    source.add_argument("--input", help="a measurement file (see the description)")
    parser.add_argument("--mask", default=None, help="MRI: the k-space mask of --input")
    parser.add_argument("--size", type=int, default=None, help="image size (CT/MRI; default 32, the shipped weights' size)")
    parser.add_argument("--max-iter", type=int, default=None, help="DEQ4IP / LUSER: solver iterations in evaluation")
    parser.add_argument("--output", required=True, help="output folder")
    args = parser.parse_args(argv)
    task = get_task(args.task)
    solver = {"eval_max_iter": args.max_iter} if args.max_iter is not None else None
    if solver is not None and args.model == "lu-dncnn":
        raise ValueError("--max-iter applies to DEQ4IP and LUSER (LU-DnCNN has no solver)")
    truth = None
    if args.image:
        y, op, truth = simulated(task, args.image, args.size)
    else:
        y, op = measured(task, args.input, args.mask, args.size)
    options = {"solver": solver} if solver else {}
    model = FACTORIES[args.model](pretrained=True, weights=args.weights, task=None if args.weights else task.name, **options)
    if model.task != task.name:
        raise ValueError(f"--weights holds {args.model} trained for task {model.task!r}, not {task.name!r}")
    t0 = time.perf_counter()
    x = task.to_image(model.reconstruct(y, op)).clamp(0, 1)[0]
    seconds = time.perf_counter() - t0
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "recon.npy", x.numpy())
    from PIL import Image

    arr = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(out / "recon.png")
    print(f"{args.model} on {task.name}: {list(x.shape)} in {seconds:.2f} s")
    if truth is not None:
        from deq.core.metrics import psnr, ssim

        x0 = task.to_image(model.step.initial(y, op)).clamp(0, 1)
        print(
            f"PSNR {float(psnr(x[None], truth)):.2f} dB, SSIM {float(ssim(x[None], truth)):.4f} "
            f"(x_0: PSNR {float(psnr(x0, truth)):.2f} dB)"
        )
    print(f"wrote {out / 'recon.png'} and {out / 'recon.npy'}")
    return 0
