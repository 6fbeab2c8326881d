"""The shared GAP step against a brute-force projection, and the plug-and-play loops."""

from __future__ import annotations

import pytest
import torch

from deq.models.sci.gap import gap_step, initial_estimate, pnp_admm, pnp_gap
from deq.operators.sci import CACTI


def _dense_phi(mask: torch.Tensor) -> torch.Tensor:
    t, h, w = mask.shape
    return torch.cat([torch.diag(mask[k].flatten()) for k in range(t)], dim=1)  # [HW, T HW]


def test_gap_step_is_the_euclidean_projection():
    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(3, 4, 5, generator=g, dtype=torch.float64) > 0.4).double()
    mask[:, 0, 0] = 0.0  # a never-sampled pixel
    op = CACTI(mask)
    x = torch.randn(1, 1, 3, 4, 5, generator=g, dtype=torch.float64)
    y = op(torch.randn(1, 1, 3, 4, 5, generator=g, dtype=torch.float64))
    v, acc = gap_step(op, x, y)
    phi = _dense_phi(mask)
    xv = x[0, 0].flatten()
    brute = xv - torch.linalg.pinv(phi) @ (phi @ xv - y.flatten())  # argmin ||v - x|| s.t. Phi v = y
    assert acc is None and torch.isfinite(v).all()
    assert torch.allclose(v.flatten(), brute, atol=1e-10)
    # accelerated variant: projection onto Phi v = y_acc with y_acc = y + (y - Phi x)
    v2, acc2 = gap_step(op, x, y, y.clone())
    assert torch.allclose(acc2, 2 * y - op(x)) and torch.allclose(op(v2), acc2 * (op.phi_phi_t() > 0), atol=1e-10)


def test_initial_estimate_is_consistent_and_constant_in_time():
    mask = (torch.rand(2, 4, 6, 6, dtype=torch.float64) > 0.5).double()
    mask[:, :, 0, 0] = 0.0
    op = CACTI(mask)
    y = op(torch.rand(2, 1, 4, 6, 6, dtype=torch.float64))
    x0 = initial_estimate(op, y)
    assert x0.shape == (2, 1, 4, 6, 6) and torch.allclose(op(x0), y)
    assert torch.equal(x0[:, :, 0], x0[:, :, 3]) and float(x0[:, :, :, 0, 0].abs().max()) == 0.0


def test_pnp_loops_with_identity_denoiser_converge_to_consistency():
    video = torch.rand(1, 1, 4, 8, 8, dtype=torch.float64)
    op = CACTI((torch.rand(4, 8, 8) > 0.5).double())
    y = op(video)
    for run in (
        lambda: pnp_gap(op, y, lambda v, s: v, [0.0] * 3),
        lambda: pnp_admm(op, y, lambda v, s: v, [0.0] * 200, gamma=1e-3),
    ):
        x = run()
        assert (op(x) - y).abs().max() < 1e-3


def test_measurement_errors_are_clear():
    op = CACTI(torch.ones(8, 16, 16))
    with pytest.raises(ValueError, match="same height and width"):
        pnp_gap(op, torch.rand(1, 1, 12, 16), lambda v, s: v, [0.0])
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        pnp_gap(op, torch.rand(16, 16), lambda v, s: v, [0.0])
    per_sample = CACTI(torch.ones(3, 8, 16, 16))
    with pytest.raises(ValueError, match="B=2"):
        pnp_gap(per_sample, torch.rand(2, 1, 16, 16), lambda v, s: v, [0.0])
