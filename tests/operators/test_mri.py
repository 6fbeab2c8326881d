"""Cartesian MRI: masks (real ISTA-Net masks, radial, column), representations, multi-coil, bad input."""

from __future__ import annotations

import pytest
import torch

from deq.operators import CartesianMRI, column_mask, load_mask, radial_mask


@pytest.mark.parametrize("percent", [10, 20, 30])
def test_real_ista_masks_are_unshifted_and_match_radial_generator(shared_data, percent: int) -> None:
    real = load_mask(shared_data(f"mri/ISTA_masks/mask_{percent}.mat"))
    assert real.shape == (256, 256)
    assert abs(float(real.mean()) - percent / 100) < 0.01
    assert real[0, 0] == 1  # k-space centre at the corner: use centered=False
    ours = radial_mask((256, 256), percent / 100)
    assert ours[0, 0] == 1 and abs(float(ours.mean()) - percent / 100) < 0.01


def test_real_mask_drives_operator_with_exact_data_consistency(shared_data) -> None:
    mask = load_mask(shared_data("mri/ISTA_masks/mask_20.mat"))
    op = CartesianMRI(mask)
    x = torch.rand(2, 1, 256, 256).to(torch.complex64)
    y = op(x)
    # zero-filled reconstruction keeps the sampled k-space exactly
    assert torch.allclose(op(op.adjoint(y)), y, atol=1e-5)
    assert float((y.abs() > 0).float().mean()) <= float(mask.mean()) + 1e-6


@pytest.mark.parametrize("acceleration", [4, 8])
@pytest.mark.parametrize("kind", ["random", "equispaced"])
def test_column_mask_acceleration_and_centre(acceleration: int, kind: str) -> None:
    mask = column_mask((64, 128), acceleration, kind=kind, centered=True)
    cols = mask[0]
    assert torch.equal(mask, cols.expand(64, 128))
    assert int(cols.sum()) == round(128 / acceleration)
    centre = round(128 * 0.32 / acceleration)
    assert cols[64 - centre // 2 : 64 + centre // 2].all()
    unshifted = column_mask((64, 128), acceleration, kind=kind)
    assert unshifted[0, 0] == 1 and torch.equal(torch.fft.fftshift(unshifted), mask)


def test_column_mask_random_is_seeded() -> None:
    assert torch.equal(column_mask((8, 64), 4, seed=3), column_mask((8, 64), 4, seed=3))
    assert not torch.equal(column_mask((8, 64), 4, seed=3), column_mask((8, 64), 4, seed=4))


def test_real2_and_complex_representations_agree() -> None:
    mask = torch.rand(12, 10) > 0.5
    x = torch.randn(2, 1, 12, 10, dtype=torch.complex128)
    y = CartesianMRI(mask)(x)
    y2 = CartesianMRI(mask, representation="real2")(torch.cat([x.real, x.imag], dim=1))
    assert torch.allclose(torch.complex(y2[:, 0], y2[:, 1]).unsqueeze(1), y)


def test_multicoil_is_the_stack_of_single_coil_operators() -> None:
    mask, maps = torch.rand(12, 10) > 0.5, torch.randn(4, 12, 10, dtype=torch.complex128)
    x = torch.randn(2, 1, 12, 10, dtype=torch.complex128)
    y = CartesianMRI(mask, coil_maps=maps)(x)
    assert y.shape == (2, 4, 12, 10)
    for c in range(4):
        assert torch.allclose(y[:, c : c + 1], CartesianMRI(mask)(maps[c] * x))


def test_orthonormal_scaling_and_fully_sampled_inverse() -> None:
    op = CartesianMRI(torch.ones(8, 8))
    x = torch.randn(1, 1, 8, 8, dtype=torch.complex128)
    assert torch.allclose(op(x).norm(), x.norm())
    assert torch.allclose(op.adjoint(op(x)), x)


def test_bad_mri_input() -> None:
    with pytest.raises(ValueError, match="representation"):
        CartesianMRI(torch.ones(8, 8), representation="magnitude")
    with pytest.raises(TypeError, match="real 2-channel"):
        CartesianMRI(torch.ones(8, 8))(torch.randn(1, 1, 8, 8))  # real input to the complex representation
    with pytest.raises(ValueError, match=r"\[B, 1, 8, 8\]"):
        CartesianMRI(torch.ones(8, 8))(torch.randn(1, 1, 8, 6, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"\[4, 8, 8\]|\[Nc, 8, 8\]"):
        CartesianMRI(torch.ones(8, 8), coil_maps=torch.randn(4, 8, 6, dtype=torch.complex64))


@pytest.mark.parametrize(("percent", "sampled"), [(10, 10.2), (20, 20.2), (30, 30.2)])
def test_real_input_view_with_the_paper_masks_gives_the_sd_red_gradient(shared_data, percent: int, sampled: float) -> None:
    """Hu et al.'s CS-MRI: A = P F on real images with the radial ISTA-Net masks; the data-term gradient of SD-RED
    is Re(A^H (A x - y)), straight from the real-input view."""
    from deq.core.operator import adjoint_test

    mask = load_mask(shared_data(f"mri/ISTA_masks/mask_{percent}.mat"))
    assert 100 * float(mask.mean()) == pytest.approx(sampled, abs=0.05)
    op = CartesianMRI(mask, centered=False).real_input()
    assert adjoint_test(op, (2, 1, 256, 256), dtype=torch.float64) < 1e-12
    truth = torch.rand(2, 1, 256, 256, dtype=torch.float64)
    y = op(truth)
    assert y.is_complex() and y.shape == (2, 1, 256, 256)
    x = torch.rand(2, 1, 256, 256, dtype=torch.float64, requires_grad=True)
    (0.5 * (op(x) - y).abs().pow(2).sum()).backward()
    residual = mask * torch.fft.fft2(x.detach(), norm="ortho") - y
    by_hand = torch.fft.ifft2(mask * residual, norm="ortho").real  # Re(F^H P^T (P F x - y))
    assert torch.allclose(op.adjoint(op(x.detach()) - y), by_hand) and torch.allclose(x.grad, by_hand)
