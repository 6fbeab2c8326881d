"""The shipped weights: deq's format with weights_only, provenance that names the held-out scene, the default fold
behind ``pretrained=True``, and the shipped models denoising (a crop of) the scene their fold held out."""

from __future__ import annotations

import pytest
import torch

from deq.core.metrics import psnr
from deq.core.registry import create
from deq.core.weights import PROVENANCE_KEYS, read_weights
from deq.models.hsi.data import SCENES, Fold, add_noise
from deq.models.hsi.dictionary import NAME as DICTIONARY
from deq.models.hsi.weights import DEFAULT_HELD_OUT, MODELS, PRIOR, load_dictionary, load_model, shipped
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
