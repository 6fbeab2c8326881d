"""Bad data given to an operator's constructor or methods gets an error saying what was expected."""

from __future__ import annotations

import pytest
import torch

from deq.operators import (
    CACTI,
    NUFFTMRI,
    Blur,
    CartesianMRI,
    Dictionary,
    Inpainting,
    SuperResolution,
    SupportDictionary,
    radial_trajectory,
)


def _with_nan(shape, value=float("nan"), dtype=torch.float32):
    t = torch.rand(shape, dtype=dtype)
    t.view(-1)[1] = value
    return t


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("build", "what"),
    [
        (lambda t: CACTI(t((4, 5, 5))), "mask"),
        (lambda t: CartesianMRI(t((8, 8))), "mask"),
        (lambda t: CartesianMRI(torch.ones(8, 8), coil_maps=t((2, 8, 8)).to(torch.complex64)), "coil_maps"),
        (lambda t: Inpainting(t((1, 5, 5))), "mask"),
        (lambda t: Blur(t((3, 3))), "kernel"),
        (lambda t: Blur(t((3, 3)), method="spatial", boundary="zeros"), "kernel"),
        (lambda t: SuperResolution(t((3, 3)), 2), "kernel"),
        (lambda t: Dictionary(t((4, 6))), "D"),
        (lambda t: SupportDictionary(t((4, 6)), [0, 1]), "D"),
    ],
    ids=["cacti", "mri-mask", "mri-coil-maps", "inpainting", "blur-fft", "blur-spatial", "sr", "dictionary", "support"],
)
def test_non_finite_data_is_rejected_at_construction(build, what: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"{what} holds 1 NaN or Inf entries .*expected finite values"):
        build(lambda shape: _with_nan(shape, value))


def test_non_finite_nufft_trajectory_and_density() -> None:
    pytest.importorskip("sigpy")
    coord = radial_trajectory(4, 8)
    with pytest.raises(ValueError, match="coord holds 1 NaN"):
        NUFFTMRI(_with_nan(coord.shape) - 0.5, (8, 8))
    with pytest.raises(ValueError, match="density holds 1 NaN"):
        NUFFTMRI(coord, (8, 8), density=_with_nan((coord.shape[0],)))


def test_projection_with_a_measurement_of_the_wrong_size() -> None:
    op = CACTI(torch.rand(4, 6, 5))
    x = torch.rand(2, 1, 4, 6, 5)
    with pytest.raises(ValueError, match=r"CACTI.project y: expected shape \[B, \*, 6, 5\] \(B any\), got \[2, 1, 6, 4\]"):
        op.project(x, torch.rand(2, 1, 6, 4))
    with pytest.raises(ValueError, match=r"gap_projection|project y: expected shape"):
        op.gap_projection(x, torch.rand(2, 1, 5, 5))
    with pytest.raises(ValueError, match="x holds B=2 samples but y holds B=3"):
        op.project(x, torch.rand(3, 1, 6, 5))
    with pytest.raises(ValueError, match="x has 1 channels but y has 2"):
        op.project(x, torch.rand(2, 2, 6, 5))
    with pytest.raises(ValueError, match=r"initial_estimate y: expected shape \[B, \*, 6, 5\]"):
        op.initial_estimate(torch.rand(2, 1, 6, 6))
