"""CACTI (video SCI): the real benchmark files, GAP projection, never-sampled pixels, per-sample masks."""

from __future__ import annotations

import pytest
import torch

from deq.operators.sci import CACTI


def _read_cacti(path):
    """The raw arrays of a ``*_cacti.mat`` file (MATLAB (H, W, T) layout) as deq tensors:
    mask [T, H, W], meas [N, 1, H, W], orig [N, 1, T, H, W] or None. The full loader with scaling and
    validation is deq.models.sci.io.load_cacti_mat; this test only needs the exact stored values."""
    from scipy.io import loadmat

    raw = loadmat(str(path))
    mask = torch.from_numpy(raw["mask"].astype("float32")).permute(2, 0, 1)
    t, h, w = mask.shape
    meas = torch.from_numpy(raw["meas"].astype("float32")).reshape(h, w, -1).permute(2, 0, 1)[:, None]
    orig = None
    if "orig" in raw:
        o = torch.from_numpy(raw["orig"].astype("float32"))
        orig = o.reshape(h, w, -1, t).permute(2, 3, 0, 1)[:, None]
    return mask, meas, orig


@pytest.mark.parametrize("name", ["sci/drop40_cacti.mat", "sci/runner40_cacti.mat", "sci/1park8_cacti.mat"])
def test_forward_reproduces_benchmark_meas_exactly(shared_data, name: str) -> None:
    mask, meas, orig = _read_cacti(shared_data(name))
    assert orig is not None and mask.shape == (8, 256, 256)
    assert torch.equal(CACTI(mask)(orig), meas)


def test_real_b14_data_loads_with_non_binary_mask(shared_data) -> None:
    mask, meas, orig = _read_cacti(shared_data("sci/real/4fan14_cacti.mat"))
    op = CACTI(mask)
    assert op.frames == 14 and orig is None and float(mask.max()) > 1
    x = op.gap_projection(torch.zeros(1, 1, 14, 256, 256), meas)
    assert torch.allclose(op(x), meas, rtol=1e-5, atol=1e-3)


def test_gap_projection_is_a_projection_and_leaves_unsampled_pixels() -> None:
    mask = torch.rand(8, 16, 12)
    mask[:, 3, 4] = 0.0  # never sampled
    op = CACTI(mask)
    x, truth = torch.randn(2, 1, 8, 16, 12, dtype=torch.float64), torch.randn(2, 1, 8, 16, 12, dtype=torch.float64)
    y = op(truth)
    p = op.gap_projection(x, y)
    assert torch.isfinite(p).all()
    assert torch.allclose(op(p), y)  # lands on {Phi x = y}
    assert torch.allclose(op.gap_projection(p, y), p)  # idempotent
    assert torch.equal(p[..., 3, 4], x[..., 3, 4])
    assert op.phi_phi_t().shape == (1, 1, 16, 12)


def test_prox_l2_never_sampled_pixel_is_finite_and_keeps_z() -> None:
    op = CACTI(torch.zeros(4, 5, 5))
    z = torch.randn(2, 1, 4, 5, 5)
    assert torch.equal(op.prox_l2(z, torch.randn(2, 1, 5, 5), 1.0), z)


def test_per_sample_masks_act_per_sample() -> None:
    masks = torch.rand(3, 8, 10, 10)
    x = torch.rand(3, 1, 8, 10, 10, dtype=torch.float64)
    batched = CACTI(masks)(x)
    for i in range(3):
        assert torch.allclose(batched[i], CACTI(masks[i])(x[i : i + 1])[0])
    assert CACTI(masks).phi_phi_t().shape == (3, 1, 10, 10)


def test_mask_batch_mismatch_and_bad_mask_raise() -> None:
    with pytest.raises(ValueError, match="B=2"):
        CACTI(torch.rand(3, 8, 10, 10))(torch.rand(2, 1, 8, 10, 10))
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        CACTI(torch.rand(10, 10))
    with pytest.raises(ValueError, match=r"\[B, \*, 8, 10, 10\]"):
        CACTI(torch.rand(8, 10, 10))(torch.rand(2, 1, 7, 10, 10))
