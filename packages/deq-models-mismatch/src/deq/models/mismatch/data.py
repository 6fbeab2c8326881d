"""The data of Hu et al.'s two experiments, their splits, and their measurement operators.

CS-MRI (sec. 4.1): 256x256 brain MR images of ISTA-Net (``mri/ISTA_BrainImages_test``), single-coil ``A = P F``
with the pseudo-radial masks ``mri/ISTA_masks/mask_{10,20,30}.mat`` (k-space centre at the corners, so
``CartesianMRI(mask, centered=False)``, viewed as a map of real images). Splits (:data:`MRI_SPLITS`):

* test: ``brain_test_01 .. 10`` (the paper's 10 test slices);
* validation (choice of the AWGN noise level and of ``tau`` per experiment, AR training's validation):
  ``brain_test_41 .. 50``;
* training: ``brain_test_11 .. 40`` and the 100 ``ADMMNet_ChestTrain`` images. ``ADMMNet_Brain_data`` is *not*
  used: its two images are ``brain_test_11`` and ``brain_test_50`` again (mean absolute difference below 1e-3,
  8-bit rounding), so they would duplicate a training image and leak a validation image.

Super-resolution (sec. 4.2): ``A = S H``, ``s``-fold decimation after a Gaussian blur from
``kernels/kernels_12.mat`` (DPIR's file, which Hurault et al. load the first 8 kernels of: 0-3 isotropic with
standard deviation 0.7 / 1.2 / 1.6 / 2.0 px, 4-7 anisotropic; measured, see :func:`kernel_std`). The paper's
kernels (b), (d), (e) of Hurault et al.'s kernel figure are read as indices 1, 3, 4 (panels lettered in file
order): isotropic 1.2 px, isotropic 2.0 px, anisotropic 1.41 x 2.65 px (:data:`SR_KERNELS`). Input noise
``0.03`` (:data:`SR_NOISE`). Colour images in ``[0, 1]``:

* training: Set14 without its two grayscale images (``bridge``, and ``man``, stored as three equal channels),
  set3c's ``leaves`` and ``starfish`` (its ``butterfly`` is Set5's), and scikit-image's colour photographs
  ``astronaut``, ``chelsea``, ``coffee``, ``rocket``, ``motorcycle_left`` (:func:`sr_training_images`);
* validation: Set5;
* test: CBSD68, never used for training or for any choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from deq.core.data import find_data
from deq.core.errors import DataError
from deq.core.images import image_files, load_images, read_image, read_mat

MRI_IMAGES = "mri/ISTA_BrainImages_test"
MRI_CHEST = "mri/ADMMNet_ChestTrain"
MRI_MASK = "mri/ISTA_masks/mask_{ratio}.mat"
#: sampling ratios (percent) of the paper's Table 1
MRI_RATIOS = (10, 20, 30)
#: the ratio the AR prior is trained at (the "mismatched" operator for 20 % and 30 %)
MRI_TRAIN_RATIO = 10

KERNELS_FILE = "kernels/kernels_12.mat"
#: kernels (b), (d), (e) of Hurault et al. as indices of kernels_12.mat (see the module docstring)
SR_KERNELS = (1, 3, 4)
SR_NOISE = 0.03
SR_TEST_SCALE = 3
SR_TRAIN_SCALES = (2, 4)
SR_TEST = "natural/CBSD68"
SR_VAL = "natural/Set5"
SR_TRAIN_FOLDERS = {"natural/Set14": ("bridge", "man"), "natural/set3c": ("butterfly",)}
SKIMAGE_TRAIN = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left")


@dataclass(frozen=True)
class MRISplits:
    """Which ``brain_test_NN`` images (1-based) form each split; chest images are training only."""

    test: tuple[int, ...] = tuple(range(1, 11))
    validation: tuple[int, ...] = tuple(range(41, 51))
    train: tuple[int, ...] = tuple(range(11, 41))

    def describe(self) -> str:
        return (
            f"{MRI_IMAGES}: test brain_test_01-10, validation brain_test_41-50, training brain_test_11-40; "
            f"training also {MRI_CHEST} (100 images); ADMMNet_Brain_data not used (duplicates brain_test_11 and 50)"
        )


MRI_SPLITS = MRISplits()


def brain_images(numbers: Sequence[int], data_dir: str | None = None) -> Tensor:
    """The ISTA-Net brain images ``brain_test_NN`` for ``numbers`` (1-based), ``[N, 1, 256, 256]`` in ``[0, 1]``."""
    folder = find_data(MRI_IMAGES, data_dir)
    files = {p.stem: p for p in image_files(folder)}
    out = []
    for n in numbers:
        name = f"brain_test_{n:02d}"
        if name not in files:
            raise DataError(f"{folder} has no {name}.png (expected brain_test_01 .. brain_test_50)")
        out.append(read_image(files[name], 1))
    return torch.stack(out)


def mri_training_images(data_dir: str | None = None) -> list[Tensor]:
    """Training images of the CS-MRI priors: ``brain_test_11 .. 40`` and the 100 chest images, each ``[1, 256, 256]``."""
    brain = list(brain_images(MRI_SPLITS.train, data_dir))
    chest = [im.clamp(0, 1) for im in load_images(find_data(MRI_CHEST, data_dir), 1, key="im_ori")]
    return brain + chest


def mri_mask(ratio: int, data_dir: str | None = None) -> Tensor:
    """The ISTA-Net pseudo-radial mask at ``ratio`` percent, float32 ``[256, 256]``, DC at the corners."""
    from deq.operators.mri import load_mask

    return load_mask(find_data(MRI_MASK.format(ratio=ratio), data_dir))


def mri_operator(mask: Tensor):
    """``A = P F`` on real images ``[B, 1, H, W]`` -> complex k-space (Hu et al. sec. 4.1): the real-input view of
    ``CartesianMRI(mask, centered=False)``, whose adjoint is ``Re(F^H P^T y)``."""
    from deq.operators.mri import CartesianMRI

    return CartesianMRI(mask, centered=False).real_input()


def sr_kernels(indices: Sequence[int] = SR_KERNELS, data_dir: str | None = None) -> list[Tensor]:
    """Kernels ``[25, 25]`` (float32, each summing to 1) of ``kernels_12.mat`` at ``indices``."""
    cells = read_mat(find_data(KERNELS_FILE, data_dir)).get("kernels")
    if cells is None or cells.dtype != object:
        raise DataError(f"{KERNELS_FILE}: expected a cell array 'kernels' (1, 12)")
    cells = cells.reshape(-1)
    bad = [i for i in indices if not 0 <= i < len(cells)]
    if bad:
        raise ValueError(f"kernel indices {bad} out of range: {KERNELS_FILE} holds {len(cells)} kernels")
    return [torch.from_numpy(np.asarray(cells[i], dtype=np.float32)) for i in indices]


def kernel_std(kernel: Tensor) -> tuple[float, float]:
    """Standard deviations (px) along the principal axes of a kernel, smallest first (its second moments)."""
    k = kernel.double() / kernel.sum()
    c = [torch.arange(n, dtype=torch.float64) - (n - 1) / 2 for n in k.shape]
    yy, xx = torch.meshgrid(*c, indexing="ij")
    my, mx = (k * yy).sum(), (k * xx).sum()
    cov = torch.stack(
        [
            torch.stack([(k * (yy - my) ** 2).sum(), (k * (yy - my) * (xx - mx)).sum()]),
            torch.stack([(k * (yy - my) * (xx - mx)).sum(), (k * (xx - mx) ** 2).sum()]),
        ]
    )
    lo, hi = torch.linalg.eigvalsh(cov).sqrt().tolist()
    return lo, hi


def sr_operator(kernel: Tensor, factor: int):
    """``A = S H``: blur by ``kernel`` then ``factor``-fold decimation (deq-operators' ``SuperResolution``)."""
    from deq.operators.sr import SuperResolution

    return SuperResolution(kernel, factor)


def _skimage_image(name: str) -> Tensor:
    import skimage.data

    arr = skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)()
    return torch.from_numpy(np.ascontiguousarray(arr[..., :3].transpose(2, 0, 1))).float() / 255.0


def sr_training_images(data_dir: str | None = None) -> list[Tensor]:
    """The colour training images of the super-resolution priors (module docstring), ``[3, H, W]`` each."""
    images = []
    for folder, skip in SR_TRAIN_FOLDERS.items():
        for path in image_files(find_data(folder, data_dir)):
            if path.stem not in skip:
                images.append(read_image(path, 3))
    return images + [_skimage_image(name) for name in SKIMAGE_TRAIN]


def sr_training_note() -> str:
    kept = ", ".join(f"{f} (without {', '.join(s)})" for f, s in SR_TRAIN_FOLDERS.items())
    return f"training {kept}, scikit-image {', '.join(SKIMAGE_TRAIN)}; validation {SR_VAL}; never {SR_TEST}"


def center_crop(image: Tensor, height: int, width: int | None = None) -> Tensor:
    """The central ``height x width`` part of ``[..., H, W]`` (``width`` defaults to ``height``)."""
    width = height if width is None else width
    h, w = image.shape[-2:]
    if height > h or width > w:
        raise ValueError(f"center_crop: {height}x{width} exceeds the image {h}x{w}")
    top, left = (h - height) // 2, (w - width) // 2
    return image[..., top : top + height, left : left + width]


def crop_to_multiple(image: Tensor, multiple: int) -> Tensor:
    """The top-left part of ``[..., H, W]`` whose sides are multiples of ``multiple`` (CBSD68's 321x481 at s = 3
    becomes 321x480)."""
    h, w = image.shape[-2:]
    return image[..., : h - h % multiple, : w - w % multiple]


def sr_images(folder: str, crop: int, multiple: int, data_dir: str | None = None, limit: int | None = None) -> list[Tensor]:
    """Colour images of ``folder`` ``[3, H, W]``: the central ``crop x crop`` part (``crop > 0``; clipped to the
    image and to a multiple of ``multiple``) or the whole image cropped to a multiple of ``multiple``."""
    images = load_images(find_data(folder, data_dir), 3, limit)
    out = []
    for im in images:
        if crop > 0:
            side = min(crop, *im.shape[-2:])
            side -= side % multiple
            out.append(center_crop(im, side))
        else:
            out.append(crop_to_multiple(im, multiple))
    return out


def folder_names(folder: str, data_dir: str | None = None, limit: int | None = None) -> list[str]:
    """File stems of ``folder`` in the order :func:`~deq.core.images.load_images` reads them."""
    return [Path(p).stem for p in image_files(find_data(folder, data_dir))][:limit]
