"""Image-set loading: PNG/BMP/TIFF with 1, 3 or N channels, MATLAB v5 and v7.3 images and cubes, patches of
N-channel data; clear errors for what does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deq.core.errors import DataError, DataNotFoundError
from deq.core.images import PatchDataset, load_images, read_image, read_mat

PIL = pytest.importorskip("PIL.Image")
sio = pytest.importorskip("scipy.io")


def test_image_files_of_1_3_and_n_channels(tmp_path):
    rng = np.random.default_rng(0)
    gray, rgb = rng.integers(0, 256, (9, 7), dtype=np.uint8), rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    PIL.fromarray(gray).save(tmp_path / "a.png")
    PIL.fromarray(rgb).save(tmp_path / "b.bmp")
    pages = [PIL.fromarray(rng.integers(0, 65535, (9, 7), dtype=np.uint16)) for _ in range(5)]
    pages[0].save(tmp_path / "c.tif", save_all=True, append_images=pages[1:])
    a, b = read_image(tmp_path / "a.png"), read_image(tmp_path / "b.bmp")
    assert a.shape == (1, 9, 7) and torch.allclose(a[0], torch.from_numpy(gray / 255.0).float())
    assert b.shape == (3, 9, 7) and torch.allclose(b.permute(1, 2, 0), torch.from_numpy(rgb / 255.0).float())
    assert read_image(tmp_path / "b.bmp", channels=1).shape == (1, 9, 7)  # colour to luminance
    cube = read_image(tmp_path / "c.tif")
    assert cube.shape == (5, 9, 7) and torch.allclose(cube[2], torch.from_numpy(np.asarray(pages[2]) / 65535.0).float())
    assert [im.shape[0] for im in load_images(tmp_path, limit=2)] == [1, 3]
    with pytest.raises(DataError, match="has 5 channel"):
        read_image(tmp_path / "c.tif", channels=3)


def test_mat_v5_and_v73_images_and_cubes(tmp_path):
    h5py = pytest.importorskip("h5py")
    cube = np.random.default_rng(1).random((6, 5, 31))
    sio.savemat(tmp_path / "cube.mat", {"data": cube})
    with h5py.File(tmp_path / "im.mat", "w") as fh:  # v7.3 stores arrays transposed (column-major)
        fh["im_ori"] = cube[:, :, 0].T
    got = read_image(tmp_path / "cube.mat")
    assert got.shape == (31, 6, 5) and torch.allclose(got, torch.from_numpy(cube.transpose(2, 0, 1)).float())
    assert torch.allclose(read_image(tmp_path / "im.mat")[0], torch.from_numpy(cube[:, :, 0]).float())
    assert set(read_mat(tmp_path / "im.mat")) == {"im_ori"}
    sio.savemat(tmp_path / "two.mat", {"a": cube, "b": cube})
    with pytest.raises(DataError, match="name the image with key"):
        read_image(tmp_path / "two.mat")
    assert read_image(tmp_path / "two.mat", key="b").shape == (31, 6, 5)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_images(tmp_path / "missing")


def test_patches_of_n_channel_cubes_are_deterministic_per_index():
    cubes = [torch.rand(31, 20, 24), torch.rand(31, 18, 18)]
    ds = PatchDataset(cubes, patch=8, length=100, seed=5)
    assert ds[3].shape == (31, 8, 8) and torch.equal(ds[3], ds[3]) and not torch.equal(ds[3], ds[4])
    assert torch.equal(ds[7], PatchDataset(cubes, patch=8, length=100, seed=5)[7])
    with pytest.raises(ValueError, match="exceeds image sizes"):
        PatchDataset(cubes, patch=19, length=1)
    with pytest.raises(ValueError, match="different channel counts"):
        PatchDataset([torch.rand(1, 9, 9), torch.rand(3, 9, 9)], patch=4, length=1)
