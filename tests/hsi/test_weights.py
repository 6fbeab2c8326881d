"""The shipped weights: deq's format with weights_only, provenance that names the held-out scene, the default fold
behind ``pretrained=True``, the per-level files that ``sigma`` selects, and the shipped models denoising (a crop of)
the scene their fold held out."""

from __future__ import annotations

import pytest
import torch

from deq.core.metrics import psnr
from deq.core.registry import create
from deq.core.weights import PROVENANCE_KEYS, read_weights
from deq.models.hsi.data import SCENES, Fold, add_noise
from deq.models.hsi.dictionary import NAME as DICTIONARY
from deq.models.hsi.weights import (
    DEFAULT_HELD_OUT,
    LEVEL_WEIGHTS,
    MODELS,
    PRIOR,
    load_dictionary,
    load_model,
    load_prior,
    shipped,
)
from deq.operators.simple import Denoising


@pytest.mark.parametrize("fold", sorted(SCENES))
def test_every_fold_ships_a_dictionary_the_cnn_and_four_models_with_provenance(fold):
    for name in (DICTIONARY, PRIOR, *MODELS):
        path = shipped(name, fold)
        assert torch.load(path, weights_only=True)["name"] == name
        blob = read_weights(path)
        prov = blob["provenance"]
        assert all(k in prov for k in PROVENANCE_KEYS) and f"{fold} held out" in prov["data"]
        assert path.with_suffix(".json").is_file()
        if name in MODELS:
            assert f"deq train hsi-dictionary --held-out {fold}" in prov["data"]  # the dictionary of the same fold
            assert torch.equal(load_model(name, path).dictionary(), load_dictionary(shipped(DICTIONARY, fold)))


def test_pretrained_loads_the_default_fold_and_takes_inference_options():
    model = create("model", "deq-fast-sc", pretrained=True, block=10, solver={"max_iter": 5})
    assert model.weights_path == str(shipped("deq-fast-sc", DEFAULT_HELD_OUT))
    assert model.block == 10 and model.solver_config.max_iter == 5
    omp = create("model", "batch-omp-sc", pretrained=True, sigma=50)
    assert torch.equal(omp.D, load_dictionary())


@pytest.mark.parametrize("name", MODELS)
def test_shipped_models_denoise_the_scene_their_fold_held_out(shared_data, name):
    shared_data("hsi/abu-beach-4.mat")
    clean = Fold("abu-beach").test_cube()[:, :40, :40]
    noisy = add_noise(clean, 50, seed=5)[None]
    out = load_model(name, shipped(name, "abu-beach")).reconstruct(noisy, Denoising()).clamp(0, 1)
    assert float(psnr(out, clean[None])) > float(psnr(noisy.clamp(0, 1), clean[None])) + 8


@pytest.mark.parametrize("fold", sorted(SCENES))
@pytest.mark.parametrize("sigma", LEVEL_WEIGHTS)
def test_level_weights_are_trained_at_their_level_alone_from_a_residual_cnn(fold, sigma):
    cnn = shipped(PRIOR, fold, sigma)
    assert cnn != shipped(PRIOR, fold) and cnn.name == f"{PRIOR}_{fold}_sigma{sigma}.pt"
    assert read_weights(cnn)["config"]["residual"] is True
    for name in (PRIOR, *MODELS):
        prov = read_weights(shipped(name, fold, sigma))["provenance"]
        assert f"{fold} held out" in prov["data"] and f"AWGN sigma drawn from [{sigma}]/255" in prov["data"]
        if name in MODELS:
            assert f"--sigmas {sigma}" in prov["command"]
            assert "'residual': True" in str(read_weights(shipped(name, fold, sigma))["config"]["prior"])
    assert load_prior(sigma=sigma).weights_path == str(shipped(PRIOR, DEFAULT_HELD_OUT, sigma))


def test_sigma_selects_level_weights_only_where_they_exist():
    level = LEVEL_WEIGHTS[0]
    assert shipped("deq-fast-sc", DEFAULT_HELD_OUT, 50) == shipped("deq-fast-sc", DEFAULT_HELD_OUT)
    assert shipped(DICTIONARY, DEFAULT_HELD_OUT, level) == shipped(DICTIONARY, DEFAULT_HELD_OUT)  # one dictionary per fold
    model = create("model", "du-fast-sc", pretrained=True, sigma=level)
    assert model.weights_path == str(shipped("du-fast-sc", DEFAULT_HELD_OUT, level))
    with pytest.raises(ValueError, match="0-255 scale"):
        shipped("du-fast-sc", DEFAULT_HELD_OUT, 300)
    with pytest.raises(ValueError, match="needs pretrained=True and no weights file"):
        create("model", "du-fast-sc", pretrained=True, weights=str(shipped("du-fast-sc")), sigma=level)
    with pytest.raises(ValueError, match="needs pretrained=True"):
        create("model", "du-fast-sc", sigma=level)
