"""Blocks of inter-dependent signals (eq. 3) and the preparation of the real cubes to 31 bands, the folds and the
noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deq.core.errors import DataError
from deq.core.metrics import psnr
from deq.models.hsi.blocks import as_blocks, as_signals, block_starts, from_blocks, to_blocks
from deq.models.hsi.data import BANDS, SCENES, Fold, add_noise, load_scene, prepare_cube


def test_block_starts_tile_the_side_and_move_the_last_block_back():
    assert block_starts(100, 20) == [0, 20, 40, 60, 80]
    assert block_starts(80, 25) == [0, 25, 50, 55]
    assert block_starts(7, 7) == [0]
    with pytest.raises(ValueError, match="block size 8"):
        block_starts(7, 8)


@pytest.mark.parametrize(("h", "w", "n"), [(12, 8, 4), (11, 9, 5), (6, 6, 6)])
def test_blocks_round_trip_and_average_overlaps(h, w, n):
    x = torch.randn(2, 3, h, w)
    blocks = to_blocks(x, n)
    assert blocks.shape == (2 * len(block_starts(h, n)) * len(block_starts(w, n)), 3, n, n)
    assert torch.equal(blocks[0], x[0, :, :n, :n])
    assert torch.allclose(from_blocks(blocks, tuple(x.shape)), x)
    # overlapping pixels are averaged: a constant per block gives the mean of the blocks covering each pixel
    ones = torch.arange(blocks.shape[0], dtype=torch.float32).reshape(-1, 1, 1, 1).expand_as(blocks)
    merged = from_blocks(ones, tuple(x.shape))
    if block_starts(w, n)[-1] % n:  # the last column block overlaps its neighbour
        assert merged[0, 0, 0, -1] == 1.0 * (len(block_starts(w, n)) - 1) and merged[0, 0, 0, w - n] != merged[0, 0, 0, w - n - 1]


def test_signals_are_the_block_pixels_in_row_major_order():
    b = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    s = as_signals(b)
    assert s.shape == (2, 3, 16) and torch.equal(s[1, 2, 5], b[1, 2, 1, 1]) and torch.equal(as_blocks(s, 4), b)


def test_prepare_drops_dead_and_saturated_bands_bins_and_normalises():
    rng = np.random.default_rng(0)
    raw = rng.uniform(100, 200, size=(10, 12, 70))
    raw[:, :, 5] = 1.0  # dead (water absorption)
    raw[:, :, 40] = 0.0
    raw[:3, :, 60] = 1000.0  # saturated: 30 % of its pixels at the cube's maximum
    raw[0, 0, 10] = -50  # negative: clipped
    cube, prep = prepare_cube(raw, bands=31)
    assert cube.shape == (31, 10, 12) and cube.dtype == torch.float32
    assert 5 not in prep.kept and 40 not in prep.kept and 60 not in prep.kept and len(prep.kept) == 67
    assert [b for g in prep.groups for b in g] == list(prep.kept)  # adjacent kept bands, in order
    assert {len(g) for g in prep.groups} == {2, 3}
    assert float(cube.max()) == 1.0 and float(cube.min()) >= 0.0
    assert abs(float((cube >= 1).float().mean()) - 0.001) < 0.002  # the 99.9th percentile maps to 1
    expected = raw[:, :, list(prep.groups[0])].mean(2) / prep.scale
    assert np.allclose(cube[0].numpy(), np.clip(expected, 0, 1), atol=1e-6)


def test_prepare_rejects_cubes_it_cannot_use():
    with pytest.raises(DataError, match=r"\(H, W, C\)"):
        prepare_cube(np.zeros((4, 4)))
    with pytest.raises(DataError, match="only 20 of 20 bands"):
        prepare_cube(np.random.default_rng(0).uniform(1, 2, (4, 4, 20)))
    with pytest.raises(DataError, match="NaN"):
        prepare_cube(np.full((4, 4, 40), np.nan))


def test_the_three_real_scenes_become_31_band_cubes(shared_data):
    for scene in SCENES.values():
        shared_data(scene.path)
    shapes = {name: tuple(load_scene(name).cube.shape) for name in SCENES}
    assert shapes == {"hydice-urban": (BANDS, 100, 80), "abu-beach": (BANDS, 100, 100), "abu-urban": (BANDS, 100, 100)}
    assert len(load_scene("abu-urban").preparation.kept) < 198  # water-absorption bands dropped


def test_folds_hold_one_scene_out(shared_data):
    shared_data("hsi/HYDICE_data.mat")
    fold = Fold("abu-beach")
    assert fold.train == ("hydice-urban", "abu-urban")
    train, val = fold.training_cubes(), fold.validation_cubes()
    assert [t.shape[1] for t in train] == [80, 80] and [v.shape[1] for v in val] == [20, 20]
    assert torch.equal(torch.cat([train[0], val[0]], 1), load_scene("hydice-urban").cube)
    assert "abu-beach held out" in fold.note()
    with pytest.raises(ValueError, match="unknown held-out scene"):
        Fold("icvl")
    with pytest.raises(ValueError, match="cannot also be a training scene"):
        Fold("abu-beach", train=("abu-beach",))


@pytest.mark.parametrize(("sigma", "paper"), [(30, 18.54), (50, 14.12), (70, 11.21)])
def test_noise_levels_are_on_the_0_255_scale_as_the_papers_noisy_psnr(sigma, paper):
    x = torch.full((1, 31, 64, 64), 0.5)
    noisy = add_noise(x, sigma, seed=1)
    assert abs(float(psnr(noisy, x)) - paper) < 0.1
    assert torch.equal(noisy, add_noise(x, sigma, seed=1)) and not torch.equal(noisy, add_noise(x, sigma, seed=2))
    per_sample = add_noise(torch.zeros(2, 1, 50, 50), torch.tensor([30.0, 70.0]), seed=0)
    assert abs(float(per_sample[1].std() / per_sample[0].std()) - 70 / 30) < 0.2


def test_spectral_augment_reshapes_spectra_within_range_and_is_seeded():
    from deq.models.hsi.data import spectral_augment

    flat = torch.full((64, 31, 4, 4), 0.8)  # a flat spectrum: the output shows the gain itself
    out = spectral_augment(flat, torch.Generator().manual_seed(0))
    assert out.shape == flat.shape and float(out.min()) > 0 and float(out.max()) <= 1
    assert torch.equal(out, spectral_augment(flat, torch.Generator().manual_seed(0)))
    assert torch.allclose(out, out[..., :1, :1].expand_as(out))  # the same gain at every pixel of a block
    spectra = out[:, :, 0, 0]
    assert float((spectra.std(1) / spectra.mean(1)).max()) > 0.05  # spectra reshaped, not only scaled
    assert float(spectra.mean(1).min()) < 0.5 < float(spectra.mean(1).max())  # and scaled
