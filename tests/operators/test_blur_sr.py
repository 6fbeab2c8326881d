"""Blur and super-resolution: FFT vs spatial, the real kernel files, LUSER's kernel, bad input."""

from __future__ import annotations

import pytest
import torch

from deq.operators import Blur, SuperResolution, gaussian_kernel


def test_gaussian_kernel_luser_setting() -> None:
    k = gaussian_kernel(9, 5**0.5, dtype=torch.float64)
    assert k.shape == (9, 9) and torch.isclose(k.sum(), torch.tensor(1.0, dtype=torch.float64))
    from scipy.signal.windows import gaussian

    window = torch.from_numpy(gaussian(9, std=5**0.5))
    expected = torch.outer(window, window)
    assert torch.allclose(k, expected / expected.sum())


def test_fft_and_spatial_circular_agree_and_rgb_uses_one_kernel() -> None:
    k, x = torch.rand(5, 4, dtype=torch.float64), torch.randn(2, 3, 12, 11, dtype=torch.float64)
    y = Blur(k)(x)
    assert torch.allclose(y, Blur(k, method="spatial", boundary="circular")(x))
    assert torch.allclose(y[:, 1], Blur(k)(x[:, 1:2])[:, 0])


def test_delta_kernel_is_identity_for_all_boundaries() -> None:
    delta = torch.zeros(3, 3)
    delta[1, 1] = 1
    x = torch.randn(1, 1, 7, 6)
    for boundary in ("circular", "zeros", "reflect", "replicate"):
        assert torch.allclose(Blur(delta, method="spatial", boundary=boundary)(x), x)
    assert torch.allclose(Blur(delta)(x), x, atol=1e-6)


def test_sr_is_blur_then_decimation() -> None:
    k, x = gaussian_kernel(7, 1.5), torch.randn(2, 3, 12, 8)
    assert torch.allclose(SuperResolution(k, 2)(x), Blur(k)(x)[..., ::2, ::2], atol=1e-6)


def test_kernels_from_benchmark_files(shared_data) -> None:
    from scipy.io import loadmat

    kernels = loadmat(shared_data("kernels/kernels_12.mat"))
    key = next(k for k in kernels if not k.startswith("__"))
    k = torch.as_tensor(kernels[key][0, 0], dtype=torch.float32)
    assert k.shape == (25, 25)
    x = torch.rand(2, 3, 64, 64)
    for op in (Blur(k), SuperResolution(k, 4)):
        from deq.core.operator import adjoint_test

        assert adjoint_test(op, x.shape, dtype=torch.float32) <= 1e-5


def test_kernel_larger_than_image_and_bad_factor() -> None:
    with pytest.raises(ValueError, match=r"at most \[4, 4\]"):
        Blur(torch.rand(5, 5))(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"at most \[4, 4\]"):
        Blur(torch.rand(5, 5), method="spatial", boundary="zeros")(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="not divisible"):
        SuperResolution(torch.rand(3, 3), 4)(torch.rand(1, 1, 10, 12))
    with pytest.raises(ValueError, match="method='spatial'"):
        Blur(torch.rand(3, 3), boundary="reflect")
    with pytest.raises(ValueError, match="expected 1 or 2"):
        Blur(torch.rand(3, 3, 3))(torch.rand(2, 1, 8, 8))  # three per-sample kernels, batch of two
