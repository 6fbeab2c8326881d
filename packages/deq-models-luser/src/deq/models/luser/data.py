"""Training, validation and test images of the three tasks, from ``shared/data`` (found by
:func:`deq.core.data.find_data`; nothing is downloaded) and generated phantoms. The paper's data sets (CelebA,
LoDoPaB-CT, fastMRI knees) are not available here; what replaces them:

* deblur: train on ``size`` crops (flips, rotations) of Set5, Set14 and scikit-image's colour images (astronaut,
  chelsea, coffee, rocket, ihc, hubble_deep_field, motorcycle_left, retina); validate on crops of set3c; test on
  the centred ``size`` crop of every CBSD68 image;
* ct: train on random-ellipse phantoms (:mod:`~deq.models.luser.phantoms`); validate on phantoms of another seed;
  test on the real DeepLesion slices, ``CT_small.dcm`` and the XCAT phantom, resized;
* mri: train on ADMM-Net's chest images 1-90, resized (flips, rotations); validate on chest images 91-100; test
  on ISTA-Net's 50 brain test images, resized.

Colour training images whose three channels are equal (grey BMPs of Set14) are left out. Resizing is area
averaging (anti-aliased); CT test images are scaled to ``[0, 1]`` by their minimum and maximum.
Every image is ``[C, H, W]`` float32 in ``[0, 1]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from deq.core.data import find_data
from deq.core.errors import DataError
from deq.core.images import PatchDataset, load_images, read_image, read_mat
from deq.models.luser.phantoms import EllipseDataset

DEBLUR_TRAIN = ("natural/Set5", "natural/Set14")
DEBLUR_SKIMAGE = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "ihc.png",
    "hubble_deep_field.jpg",
    "motorcycle_left.png",
    "retina.jpg",
)
DEBLUR_VAL = "natural/set3c"
DEBLUR_TEST = "natural/CBSD68"
CT_TEST = (
    "ct/deeplesion_000129_03_01_115.h5",
    "ct/deeplesion_000195_02_02_202.h5",
    "ct/CT_small.dcm",
    "ct/XCAT512.mat",
)
MRI_TRAIN = "mri/ADMMNet_ChestTrain"
MRI_TEST = "mri/ISTA_BrainImages_test"
MRI_VAL_COUNT = 10
#: a dataset length no training run reaches (items are generated from their index)
ENDLESS = 2**31 - 1


def resize(image: Tensor, size: int) -> Tensor:
    """``[C, H, W]`` -> ``[C, size, size]`` by area averaging (the image is first cropped to a centred square)."""
    h, w = image.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = image[:, top : top + s, left : left + s]
    if s == size:
        return square.clone()
    return F.interpolate(square[None], size=(size, size), mode="area")[0]


def centre_crop(image: Tensor, size: int) -> Tensor:
    """The centred ``size x size`` crop of ``[C, H, W]``."""
    h, w = image.shape[-2:]
    if min(h, w) < size:
        raise DataError(f"centre_crop: image {h}x{w} is smaller than the crop {size}")
    top, left = (h - size) // 2, (w - size) // 2
    return image[:, top : top + size, left : left + size].clone()


def _colour(images: list[Tensor]) -> list[Tensor]:
    return [im for im in images if not (torch.equal(im[0], im[1]) and torch.equal(im[1], im[2]))]


def deblur_train_images(data_dir: str | None = None) -> list[Tensor]:
    """The colour training images of the deblurring task (see the module table)."""
    import skimage

    images: list[Tensor] = []
    for folder in DEBLUR_TRAIN:
        images += load_images(find_data(folder, data_dir), channels=3)
    root = Path(skimage.__file__).parent / "data"
    images += [read_image(root / name, channels=3) for name in DEBLUR_SKIMAGE if (root / name).is_file()]
    return _colour(images)


def ct_test_image(path: Path) -> Tensor:
    """One CT test image ``[1, H, W]`` scaled to ``[0, 1]``: DeepLesion ``.h5`` (``image``), DICOM (Hounsfield units
    through the rescale slope/intercept; needs pydicom) or ``.mat``."""
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as fh:
            arr = np.asarray(fh["image"], dtype=np.float64)
    elif path.suffix == ".dcm":
        try:
            import pydicom
        except ImportError as exc:
            raise ImportError("reading the DICOM CT test image needs pydicom: pip install pydicom") from exc
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(
            getattr(ds, "RescaleIntercept", 0)
        )
    else:
        arr = np.asarray(read_image(path)[0], dtype=np.float64)
    lo, hi = arr.min(), arr.max()
    if not np.isfinite(arr).all() or hi <= lo:
        raise DataError(f"CT test image '{path}' is constant or holds NaN/Inf values")
    return torch.from_numpy((arr - lo) / (hi - lo)).float()[None]


def load_test_set(task: str, size: int, data_dir: str | None = None, limit: int | None = None) -> tuple[Tensor, list[str]]:
    """The test set of ``task`` (``deblur``, ``ct``, ``mri4x``/``mri8x``) as ``[N, C, size, size]`` and the image names."""
    if task == "deblur":
        files = sorted(p for p in find_data(DEBLUR_TEST, data_dir).iterdir() if p.suffix.lower() == ".png")[:limit]
        return torch.stack([centre_crop(read_image(p, channels=3), size) for p in files]), [p.stem for p in files]
    if task == "ct":
        paths = [find_data(rel, data_dir) for rel in CT_TEST][:limit]
        return torch.stack([resize(ct_test_image(p), size) for p in paths]), [p.stem for p in paths]
    if task.startswith("mri"):
        files = sorted(p for p in find_data(MRI_TEST, data_dir).iterdir() if p.suffix.lower() == ".png")[:limit]
        return torch.stack([resize(read_image(p, channels=1), size) for p in files]), [p.stem for p in files]
    raise ValueError(f"test_images: unknown task {task!r}")


def _mri_chest(size: int, data_dir: str | None) -> list[Tensor]:
    folder = find_data(MRI_TRAIN, data_dir)
    files = sorted(folder.glob("*.mat"))
    if len(files) <= MRI_VAL_COUNT:
        raise DataError(f"'{folder}' holds {len(files)} images; the MRI task needs more than {MRI_VAL_COUNT}")
    return [resize(torch.from_numpy(np.asarray(read_mat(p)["im_ori"], dtype=np.float32))[None], size) for p in files]


class ImageList(Dataset):
    """A list of images as a dataset (item ``i`` is image ``i``)."""

    def __init__(self, images: list[Tensor]) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return self.images[i]


def datasets(
    task: str, size: int, seed: int = 0, data_dir: str | None = None, val_items: int = 8
) -> tuple[Dataset, Dataset, str]:
    """Training and validation images of ``task`` (``[C, size, size]`` each; item ``i`` a deterministic function of
    ``(seed, i)``) and a description for the provenance."""
    if task == "deblur":
        train = PatchDataset(deblur_train_images(data_dir), size, ENDLESS, seed=seed)
        val = PatchDataset(load_images(find_data(DEBLUR_VAL, data_dir), channels=3), size, val_items, seed=seed + 10_000)
        note = (
            f"{size}x{size} crops (flips, rotations) of Set5, Set14 (colour images) and scikit-image's "
            f"{', '.join(n.split('.')[0] for n in DEBLUR_SKIMAGE)}; validation: {val_items} crops of set3c"
        )
        return train, val, note
    if task == "ct":
        note = f"random-ellipse phantoms {size}x{size} (seed {seed}); validation: {val_items} phantoms of seed {seed + 10_000}"
        return EllipseDataset(size, ENDLESS, seed), EllipseDataset(size, val_items, seed + 10_000), note
    if task.startswith("mri"):
        chest = _mri_chest(size, data_dir)
        cut = len(chest) - MRI_VAL_COUNT
        train = PatchDataset(chest[:cut], size, ENDLESS, seed=seed)
        val = ImageList(chest[cut:])
        note = (
            f"{MRI_TRAIN} images 1-{cut} resized to {size}x{size} (flips, rotations); validation: images {cut + 1}-{len(chest)}"
        )
        return train, val, note
    raise ValueError(f"datasets: unknown task {task!r}")
