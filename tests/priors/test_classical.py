"""Soft-thresholding and the l1-wavelet prox: closed forms, prox optimality, non-expansiveness."""

from __future__ import annotations

import pytest
import torch

from deq.priors.classical import SoftThreshold, WaveletSoftThreshold, soft_threshold


def test_soft_threshold_real_and_complex():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.allclose(soft_threshold(x, 0.5), torch.tensor([-1.5, 0.0, 0.0, 0.0, 1.0]))
    z = torch.tensor([3 + 4j, 0.1 + 0j])
    out = soft_threshold(z, 1.0)
    assert torch.allclose(out, torch.tensor([2.4 + 3.2j, 0j]))


def test_soft_threshold_is_the_l1_prox():
    y = torch.randn(64, dtype=torch.float64)
    x = soft_threshold(y, 0.3)
    obj = lambda z: 0.5 * (z - y).pow(2).sum() + 0.3 * z.abs().sum()  # noqa: E731
    for _ in range(20):
        assert obj(x) <= obj(x + 1e-3 * torch.randn_like(x))


def test_soft_threshold_module_per_sample_sigma():
    m = SoftThreshold(0.1)
    x = torch.randn(3, 1, 4, 4)
    s = torch.tensor([0.0, 0.5, 1.0])
    out = m(x, s)
    for i in range(3):
        assert torch.allclose(out[i], soft_threshold(x[i], float(s[i])))
    assert torch.allclose(m(x), soft_threshold(x, 0.1))


def test_wavelet_prox_is_identity_at_zero_threshold_and_nonexpansive():
    pytest.importorskip("pywt")
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    m = WaveletSoftThreshold(threshold=0.0, wavelet="db4", level=2)
    assert torch.allclose(m(x), x, atol=1e-10)
    m = WaveletSoftThreshold(threshold=0.2, wavelet="haar", level=2)
    a, b = torch.rand(2, 1, 32, 32, dtype=torch.float64), torch.rand(2, 1, 32, 32, dtype=torch.float64)
    assert (m(a) - m(b)).norm() <= (a - b).norm() + 1e-10
    # thresholding removes detail energy: the output is smoother than the input
    assert (m(a) - m(a).mean()).norm() < (a - a.mean()).norm()
    with pytest.raises(ValueError, match="orthogonal"):
        WaveletSoftThreshold(wavelet="bior2.2")
