"""The one list of model configurations that drives the property tests of every registered model
(tests/integration/test_models.py), like the operators' ``Case`` list: adding a model to the suite is adding
one :class:`ModelCase` to ``CASES``, and every registered model must have one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class ModelCase:
    """One model configuration on a tiny problem.

    Attributes:
        name: the registered model name.
        options: keywords of ``registry.create("model", name, **options)`` (JSON-able: they are the weights config).
        problem: ``() -> (y, operator, x_shape)``: a measurement, its operator and the shape of the reconstruction.
        learned: the model has trainable parameters that a training forward pass must reach.
        dtype: the precision of the problem (the model is cast to it).
    """

    name: str
    options: dict[str, Any]
    problem: Callable[[], tuple[torch.Tensor, Any, tuple[int, ...]]]
    learned: bool = True
    dtype: torch.dtype = torch.float32
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.name)


def sci_problem() -> tuple[torch.Tensor, Any, tuple[int, ...]]:
    from deq.operators.sci import CACTI

    g = torch.Generator().manual_seed(0)
    video = torch.rand(2, 1, 4, 12, 12, generator=g)
    op = CACTI((torch.rand(4, 12, 12, generator=g) > 0.5).float())
    return op(video), op, tuple(video.shape)


def hsi_problem() -> tuple[torch.Tensor, Any, tuple[int, ...]]:
    from deq.operators.simple import Denoising

    g = torch.Generator().manual_seed(0)
    cube = torch.rand(2, 5, 8, 6, generator=g)
    return cube + 0.1 * torch.randn(cube.shape, generator=g), Denoising(), tuple(cube.shape)


def luser_problem(task: str) -> Callable[[], tuple[torch.Tensor, Any, tuple[int, ...]]]:
    """A 16x16 problem of one of deq-models-luser's tasks (deblur, ct, mri4x), measured with its noise."""

    def problem() -> tuple[torch.Tensor, Any, tuple[int, ...]]:
        from deq.models.luser.tasks import get_task

        t = get_task(task)
        g = torch.Generator().manual_seed(0)
        image = torch.rand(2, t.image_channels, 16, 16, generator=g)
        op = t.operator(16, seeds=[0, 1])
        return t.measure(image, op, g), op, (2, t.channels, 16, 16)

    return problem


def mri_problem() -> tuple[torch.Tensor, Any, tuple[int, ...]]:
    from deq.operators.mri import CartesianMRI, radial_mask

    x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    op = CartesianMRI(radial_mask((12, 12), 0.3)).real_input()
    return op(x), op, tuple(x.shape)


def sr_problem() -> tuple[torch.Tensor, Any, tuple[int, ...]]:
    from deq.operators.kernels import gaussian_kernel
    from deq.operators.sr import SuperResolution

    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    op = SuperResolution(gaussian_kernel(3, 1.0), 2)
    return op(x), op, tuple(x.shape)


TINY_SOLVER = {"max_iter": 4, "tol": 1e-3, "backward_max_iter": 4, "warn_unconverged": False}

HSI_TINY = {"bands": 5, "atoms": 12, "block": 4, "prior": {"depth": 2, "width": 4}}

CASES = [
    ModelCase("gap-tv", {"n_iter": 3}, sci_problem, learned=False),
    ModelCase("pnp-gap", {"sigmas": [0.1], "iters": [2]}, sci_problem, learned=False),
    ModelCase("pnp-admm", {"sigmas": [0.1], "iters": [2]}, sci_problem, learned=False),
    ModelCase("de-gap", {"denoiser_options": {"depth": 2, "width": 4}, "solver": TINY_SOLVER}, sci_problem, id="de-gap"),
    ModelCase("de-rnn", {"width": 3, "solver": TINY_SOLVER}, sci_problem),
    ModelCase("du-full-sc", {**HSI_TINY}, hsi_problem),
    ModelCase("deq-full-sc", {**HSI_TINY, "solver": TINY_SOLVER}, hsi_problem),
    ModelCase("du-fast-sc", {**HSI_TINY, "support": 3}, hsi_problem),
    ModelCase("deq-fast-sc", {**HSI_TINY, "support": 3, "solver": TINY_SOLVER}, hsi_problem),
    ModelCase("batch-omp-sc", {"bands": 5, "atoms": 12, "sigma": 25.0}, hsi_problem, learned=False),
    ModelCase("lasso-sc", {"bands": 5, "atoms": 12, "sigma": 25.0}, hsi_problem, learned=False),
    ModelCase("lu-dncnn", {"task": "deblur", "stages": 2}, luser_problem("deblur")),
    ModelCase("deq4ip", {"task": "mri4x", "solver": TINY_SOLVER}, luser_problem("mri4x")),
    ModelCase("luser-sw", {"task": "deblur", "stages": 2, "solver": TINY_SOLVER}, luser_problem("deblur")),
    ModelCase("luser-dw", {"task": "ct", "stages": 2, "solver": TINY_SOLVER}, luser_problem("ct")),
    # complex k-space: y.to(dtype) must keep the imaginary part (the model stays real)
    ModelCase(
        "sd-red",
        {"denoiser_options": {"depth": 3, "width": 4}, "tau": 0.3, "solver": TINY_SOLVER},
        mri_problem,
        dtype=torch.complex64,
    ),
    ModelCase("pnp-pgm", {"denoiser_options": {"in_channels": 3, "base": 4, "levels": 2}, "solver": TINY_SOLVER}, sr_problem),
]
