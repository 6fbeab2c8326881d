"""Training clips cut from real-video folders (DAVIS layout) and the recipe's ``--videos``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from deq.models.sci.clips import VideoClipDataset, load_video_folders


@pytest.fixture
def video_root(tmp_path):
    """Three 'videos' of 10 frames, 24x28: frame k of video v is a ramp shifted by k pixels (so frames differ)."""
    root = tmp_path / "JPEGImages"
    xx = np.arange(28)[None, :] + np.zeros((24, 1))
    for v in range(3):
        (root / f"seq{v}").mkdir(parents=True)
        for k in range(10):
            im = (8 * ((xx + k + 5 * v) % 28)).astype(np.uint8)
            Image.fromarray(im).save(root / f"seq{v}" / f"{k:05d}.png")
    return root


def test_clips_are_consecutive_crops_of_one_video_with_a_mask(video_root):
    videos = load_video_folders(video_root)
    assert len(videos) == 3 and videos[0].shape == (10, 24, 28)
    ds = VideoClipDataset(videos, length=20, size=16, frames=4, seed=3)
    for i in range(len(ds)):
        clip, mask = ds[i]
        assert clip.shape == (1, 4, 16, 16) and mask.shape == (4, 16, 16)
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        found = False
        for v in videos:  # the clip is a window of 4 consecutive frames of one video (maybe flipped)
            for t in range(7):
                for i0 in range(9):
                    for j0 in range(13):
                        win = v[t : t + 4, i0 : i0 + 16, j0 : j0 + 16]
                        found |= torch.equal(win, clip[0]) or torch.equal(win.flip(-1), clip[0])
        assert found
    a, b = ds[5], VideoClipDataset(videos, length=20, size=16, frames=4, seed=3)[5]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # deterministic per (seed, index)


def test_clip_errors_name_what_was_expected(video_root, tmp_path):
    videos = load_video_folders(video_root)
    with pytest.raises(ValueError, match="F >= 12 frames"):
        VideoClipDataset(videos, length=1, size=16, frames=12)
    with pytest.raises(ValueError, match="H, W >= 32 pixels"):
        VideoClipDataset(videos, length=1, size=32, frames=4)
    with pytest.raises(FileNotFoundError, match="no video folders"):
        load_video_folders(tmp_path / "empty")
