"""The paper's three inverse problems (LUSER sec. 4.1) as deq operators, with how a measurement is simulated.

* ``deblur``: 9x9 Gaussian blur of variance 5, the same kernel on each RGB channel (deq-operators' ``Blur``,
  circular boundary), noise std 0.01; start ``x_0 = y``.
* ``ct``: parallel-beam ray transform with 200 views spread uniformly over 180 degrees (the paper: "uniformly
  select 200 out of 1000 angles"), deq-operators' ``SparseParallelBeamCT`` (one sparse matrix product per call)
  scaled to norm 1; start ``x_0 = A^T y``.
* ``mri4x`` / ``mri8x``: single-coil Cartesian MRI, orthonormal 2-D FFT keeping random whole columns
  (``column_mask``: a fully sampled centre band of ``0.32 / R`` of the width, ``W / R`` columns in all), one mask
  per image, images as two real channels (real, imaginary: ``CartesianMRI(representation="real2")``); start
  ``x_0 = A^T y``.

Every operator has norm 1 (the blur's gain at frequency 0 is 1; the FFT is orthonormal; the CT matrix is divided
by its norm, found by power iteration) and every measurement gets white Gaussian noise of std 0.01 (the paper's
deblurring value; it gives no CT/MRI noise level), on the sampled k-space entries only for MRI. Ground-truth
images are ``[B, 1 or 3, H, W]`` in ``[0, 1]``; the MRI models see ``[B, 2, H, W]`` (imaginary part zero) and are
scored on the magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

from deq.core.operator import LinearOperator

NOISE_STD = 0.01
CT_VIEWS = 200


class Task:
    """One inverse problem: ``channels`` of the model's images, its start ``init`` and image ``image_channels``."""

    name = ""
    channels = 1
    image_channels = 1
    init = "adjoint"
    description = ""

    def operator(self, size: int, seeds: Sequence[int] = (0,)) -> LinearOperator:
        """The forward model for ``size x size`` images (``seeds``: one per image where it is random)."""
        raise NotImplementedError

    def to_model(self, image: Tensor) -> Tensor:
        """Ground truth ``[B, image_channels, H, W]`` -> the model's image ``[B, channels, H, W]``."""
        return image

    def to_image(self, x: Tensor) -> Tensor:
        """A model image ``[B, channels, H, W]`` -> the image scored against the ground truth."""
        return x

    def noise_mask(self, operator: LinearOperator) -> Tensor | float:
        """Where the measurement is noisy (1 everywhere but MRI's unsampled k-space)."""
        return 1.0

    def measure(self, image: Tensor, operator: LinearOperator, generator: torch.Generator | None = None) -> Tensor:
        """``y = A x + 0.01 n`` for ground truth ``image [B, image_channels, H, W]``."""
        clean = operator(self.to_model(image))
        noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype).to(clean.device)
        return clean + NOISE_STD * noise * self.noise_mask(operator)


class DeblurTask(Task):
    name, channels, image_channels, init = "deblur", 3, 3, "measurement"
    description = "9x9 Gaussian blur (variance 5) on RGB, noise 0.01, x0 = y"

    def operator(self, size: int, seeds: Sequence[int] = (0,)) -> LinearOperator:
        from deq.models.luser.step import task_kernel
        from deq.operators.blur import Blur

        return Blur(task_kernel(1)[0, 0])


class CTTask(Task):
    name = "ct"
    description = f"parallel beam, {CT_VIEWS} views over 180 degrees, operator norm 1, noise 0.01, x0 = A^T y"

    def operator(self, size: int, seeds: Sequence[int] = (0,)) -> LinearOperator:
        return ct_operator(size)


class MRITask(Task):
    channels, init = 2, "adjoint"

    def __init__(self, acceleration: int) -> None:
        self.acceleration = acceleration
        self.name = f"mri{acceleration}x"
        self.description = (
            f"single-coil Cartesian, {acceleration}x random columns (one mask per image), real/imaginary channels, "
            f"noise 0.01 on the samples, x0 = A^T y"
        )

    def operator(self, size: int, seeds: Sequence[int] = (0,)) -> LinearOperator:
        from deq.operators.mri import CartesianMRI, column_mask

        masks = torch.stack([column_mask((size, size), self.acceleration, seed=int(s)) for s in seeds])
        return CartesianMRI(masks, representation="real2")

    def to_model(self, image: Tensor) -> Tensor:
        return torch.cat([image, torch.zeros_like(image)], 1)

    def to_image(self, x: Tensor) -> Tensor:
        return x.square().sum(1, keepdim=True).sqrt()

    def noise_mask(self, operator: LinearOperator) -> Tensor:
        return operator.mask


TASKS: dict[str, Task] = {t.name: t for t in (DeblurTask(), CTTask(), MRITask(4), MRITask(8))}


def get_task(name: str) -> Task:
    """The task ``name`` (``deblur``, ``ct``, ``mri4x``, ``mri8x``); anything else is a ``ValueError`` listing them."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]


@lru_cache(maxsize=4)
def ct_operator(size: int) -> LinearOperator:
    """``R / ||R||`` for ``size x size`` images, ``R = SparseParallelBeamCT(size, 200)`` (built once per size)."""
    from deq.operators.ct_sparse import SparseParallelBeamCT

    ray = SparseParallelBeamCT(size, CT_VIEWS)
    g = torch.Generator().manual_seed(0)
    norm = ray.norm(n_iter=500, tol=1e-8, dtype=torch.float64, generator=g)
    if not math.isfinite(norm) or norm <= 0:
        raise RuntimeError(f"ct_operator: the power iteration gave a norm of {norm} for size {size}")
    return (1.0 / norm) * ray
