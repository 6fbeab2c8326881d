from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deq.core.metrics import psnr, sam, ssim


def test_psnr_closed_form():
    x = torch.zeros(2, 1, 8, 8)
    ref = torch.full((2, 1, 8, 8), 0.1)
    assert torch.allclose(psnr(x, ref), torch.tensor([20.0, 20.0]))
    assert torch.allclose(psnr(x, ref, data_range=255.0), torch.full((2,), 20 * math.log10(2550.0)))


@pytest.mark.parametrize("shape", [(3, 1, 40, 37), (2, 3, 32, 32), (2, 1, 4, 24, 24)])
def test_ssim_matches_scikit_image(shape):
    metrics = pytest.importorskip("skimage.metrics")
    x = torch.rand(shape, dtype=torch.float64)
    ref = (x + 0.15 * torch.randn_like(x)).clamp(0, 1)
    ours = ssim(x, ref)
    for i in range(shape[0]):
        slices = x[i].reshape(-1, *shape[-2:]).numpy(), ref[i].reshape(-1, *shape[-2:]).numpy()
        theirs = np.mean(
            [
                metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
                for a, b in zip(*slices)
            ]
        )
        assert abs(float(ours[i]) - theirs) < 1e-3


def test_ssim_identity_and_errors():
    x = torch.rand(1, 1, 16, 16)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[..., :8])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[..., :8, :8], x[..., :8, :8])


def test_sam_known_angle():
    a = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1).expand(1, 2, 3, 3)
    b = torch.tensor([1.0, 1.0]).reshape(1, 2, 1, 1).expand(1, 2, 3, 3)
    assert float(sam(a, b)) == pytest.approx(math.pi / 4, rel=1e-6)
    assert float(sam(a, b, degrees=True)) == pytest.approx(45.0, rel=1e-6)
    assert float(sam(b, 3 * b)) == pytest.approx(0.0, abs=1e-3)
