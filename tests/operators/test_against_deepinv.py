"""Agreement with an independent implementation: DeepInverse's physics (a test-only peer, skipped when absent)."""

from __future__ import annotations

import pytest
import torch

from deq.operators import Blur, CartesianMRI, SuperResolution, column_mask, gaussian_kernel

dinv = pytest.importorskip(
    "deepinv", reason="DeepInverse (a test-only peer) is not installed here; tox -e all runs these comparisons"
)


def test_cartesian_mri_matches_deepinv_forward_and_adjoint() -> None:
    mask = column_mask((16, 12), 4, centered=True)
    ours = CartesianMRI(mask, representation="real2", centered=True)
    theirs = dinv.physics.MRI(mask=mask, img_size=(16, 12))
    x = torch.randn(2, 2, 16, 12)
    y = ours(x)
    assert torch.allclose(theirs.A(x), y, atol=1e-6)
    assert torch.allclose(theirs.A_adjoint(y), ours.adjoint(y), atol=1e-6)


@pytest.mark.parametrize("kernel", [gaussian_kernel(5, 1.2), torch.rand(5, 5)], ids=["gaussian", "asymmetric"])
def test_fft_blur_matches_deepinv_blurfft(kernel) -> None:
    x = torch.randn(2, 3, 16, 12)
    theirs = dinv.physics.BlurFFT(img_size=(3, 16, 12), filter=kernel[None, None])
    assert torch.allclose(theirs.A(x), Blur(kernel)(x), atol=1e-5)


@pytest.mark.parametrize("boundary", ["circular", "reflect", "replicate", "valid"])
def test_spatial_blur_matches_deepinv_blur(boundary: str) -> None:
    # odd kernel: for even sizes the two libraries put the kernel centre on different sides
    kernel, x = torch.rand(5, 3), torch.randn(2, 3, 16, 12)
    theirs = dinv.physics.Blur(filter=kernel[None, None], padding=boundary)
    assert torch.allclose(theirs.A(x), Blur(kernel, method="spatial", boundary=boundary)(x), atol=1e-5)


@pytest.mark.parametrize("factor", [2, 4])
def test_super_resolution_matches_deepinv_downsampling(factor: int) -> None:
    kernel, x = torch.rand(5, 5), torch.randn(2, 3, 16, 12)
    theirs = dinv.physics.Downsampling(img_size=(3, 16, 12), filter=kernel[None, None], factor=factor, padding="circular")
    assert torch.allclose(theirs.A(x), SuperResolution(kernel, factor)(x), atol=1e-5)
