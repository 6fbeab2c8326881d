"""Loaders: the real benchmark files, user data checks, video folders and the synthetic generator."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io as sio
import torch

from deq.models.sci.io import SCIDataError, build_cacti, load_cacti_mat, load_video_folder
from deq.models.sci.synthetic import SyntheticVideoDataset, demo_scene, random_motion_clip
from deq.operators.sci import CACTI


@pytest.mark.parametrize("name, groups", [("drop40", 5), ("runner40", 5), ("1park8", 1)])
def test_benchmark_meas_equals_forward_exactly(shared_data, name, groups):
    data = load_cacti_mat(shared_data(f"sci/{name}_cacti.mat"))
    assert data.meas.shape == (groups, 256, 256) and data.mask.shape == (8, 256, 256)
    assert data.orig.shape == (groups, 8, 256, 256) and data.scale == 255.0
    assert 0.0 <= float(data.orig.min()) and float(data.orig.max()) <= 1.0
    y = CACTI(data.mask)(data.video_batch().double())
    # meas are integer sums of uint8 frames: equality up to float32 rounding of meas / 255
    assert torch.allclose(y.float(), data.meas_batch(), atol=1e-5, rtol=0)


def test_real_fan_data_b14(shared_data):
    data = load_cacti_mat(shared_data("sci/real/4fan14_cacti.mat"))
    assert data.compression == 14 and data.orig is None and data.meas.shape == (1, 256, 256)
    assert float(data.mask.max()) == 1.0  # graded 0..113 mask normalised to unit peak
    x0 = CACTI(data.mask).gap_projection(torch.zeros(1, 1, 14, 256, 256), data.meas_batch())
    assert torch.isfinite(x0).all() and 0.2 < float(torch.quantile(x0.flatten(), 0.99)) < 5.0


def test_b_mismatch_and_shape_errors():
    rng = np.random.default_rng(0)
    mask = (rng.random((16, 16, 8)) > 0.5).astype(np.uint8)
    orig = rng.integers(0, 255, (16, 16, 16)).astype(np.uint8)
    meas = (orig.reshape(16, 16, 2, 8) * mask[:, :, None]).sum(-1).astype(np.float64)
    good = build_cacti(meas, mask, orig)
    assert good.orig.shape == (2, 8, 16, 16)
    with pytest.raises(SCIDataError, match="B = 4"):
        build_cacti(meas, mask[:, :, :4], orig[:, :, :4])  # 2 snapshots of B=4 need 8 frames, but is it the right B?
    with pytest.raises(SCIDataError, match="same height and width"):
        build_cacti(meas[:8], mask, orig)
    with pytest.raises(SCIDataError, match=r"\(H, W, B\)"):
        build_cacti(meas, mask[None], orig)


def test_mat_roundtrip_and_missing_key(tmp_path):
    rng = np.random.default_rng(1)
    mask = (rng.random((12, 12, 4)) > 0.5).astype(np.float32)
    orig = rng.random((12, 12, 4)).astype(np.float32)
    sio.savemat(tmp_path / "a_cacti.mat", {"mask": mask, "orig": orig, "meas": (orig * mask).sum(-1)})
    data = load_cacti_mat(tmp_path / "a_cacti.mat")
    assert data.scale == 1.0 and data.n_groups == 1 and data.compression == 4
    sio.savemat(tmp_path / "bad.mat", {"mask": mask})
    with pytest.raises(SCIDataError, match="no key 'meas'"):
        load_cacti_mat(tmp_path / "bad.mat")


def test_video_folder(tmp_path):
    from PIL import Image

    for k in range(3):
        Image.fromarray(np.full((10, 14), 40 * k, np.uint8)).save(tmp_path / f"f{k:02d}.png")
    video = load_video_folder(tmp_path)
    assert video.shape == (3, 10, 14) and float(video[2].mean()) == pytest.approx(80 / 255)
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "f99.png")
    with pytest.raises(SCIDataError, match="f99.png"):
        load_video_folder(tmp_path)


def test_synthetic_clips_move_and_are_deterministic():
    image = torch.rand(80, 80)
    ds = SyntheticVideoDataset([image], length=4, size=32, frames=8, seed=3)
    (v1, m1), (v2, m2) = ds[1], ds[1]
    assert v1.shape == (1, 8, 32, 32) and m1.shape == (8, 32, 32)
    assert torch.equal(v1, v2) and torch.equal(m1, m2) and set(m1.unique().tolist()) <= {0.0, 1.0}
    clip = random_motion_clip(image, 32, 8, torch.Generator().manual_seed(0))
    assert (clip[0] - clip[-1]).abs().mean() > 0.01  # it moves
    video, mask = demo_scene(32)
    assert video.shape == (1, 1, 8, 32, 32) and mask.shape == (8, 32, 32)
