"""Non-Cartesian MRI (extra ``nufft``): on-grid samples reproduce the centred orthonormal DFT; trajectories
and density compensation."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("sigpy")

from deq.operators import NUFFTMRI, radial_trajectory, spiral_trajectory  # noqa: E402


def test_on_grid_nufft_is_the_centred_orthonormal_fft() -> None:
    n = 12
    grid = torch.stack(torch.meshgrid(torch.arange(n) - n // 2, torch.arange(n) - n // 2, indexing="ij"), -1)
    op = NUFFTMRI(grid.reshape(-1, 2).double(), (n, n))
    x = torch.randn(2, 1, n, n, dtype=torch.complex128)
    reference = torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))
    assert torch.allclose(op(x).reshape(2, 1, n, n), reference, atol=1e-2 * float(reference.abs().max()))


def test_trajectories_stay_in_the_kspace_box() -> None:
    for coord in (radial_trajectory(16, 32), radial_trajectory(7, 32, golden=True), spiral_trajectory(32, 4, 200)):
        assert coord.shape[-1] == 2 and float(coord.abs().max()) <= 16
    assert radial_trajectory(16, 32).shape == (16 * 32, 2)


def test_ramp_density_improves_the_gridding_reconstruction() -> None:
    n = 32
    x = torch.zeros(1, 1, n, n, dtype=torch.complex128)
    x[..., 8:24, 10:22] = 1
    coord = radial_trajectory(64, 2 * n) / 2
    errors = []
    for density in ("none", "ramp"):
        op = NUFFTMRI(coord, (n, n), density=density)
        rec = op.adjoint(op(x))
        scale = (rec.conj() * x).sum().real / (rec.abs() ** 2).sum()  # best scalar fit
        errors.append(float((scale * rec - x).norm() / x.norm()))
    assert errors[1] < 0.8 * errors[0]


def test_bad_nufft_input() -> None:
    with pytest.raises(ValueError, match=r"\[K, 2\]"):
        NUFFTMRI(torch.rand(10, 3), (8, 8))
    with pytest.raises(ValueError, match="must lie in"):
        NUFFTMRI(torch.full((4, 2), 9.0), (8, 8))
    with pytest.raises(ValueError, match="density"):
        NUFFTMRI(torch.zeros(4, 2), (8, 8), density="voronoi")
    with pytest.raises(TypeError, match="complex"):
        NUFFTMRI(torch.zeros(4, 2), (8, 8))(torch.rand(1, 1, 8, 8))
