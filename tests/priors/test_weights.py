"""Shipped weights: load by name with provenance, denoise a held-out image, and clear errors for a
missing or corrupted file."""

from __future__ import annotations

import shutil

import pytest
import torch

from deq.core.checkpoint import WeightsError
from deq.core.images import load_images
from deq.core.metrics import psnr
from deq.priors import weights

SHIPPED = "ffdnet-gray"


def test_shipped_weights_load_with_provenance():
    assert SHIPPED in weights.available()
    model = weights.load_pretrained(SHIPPED)
    assert not model.training
    prov = model.provenance
    for key in ("script", "command", "data", "steps", "seed", "device", "wall_seconds", "metrics", "init"):
        assert key in prov, key
    assert prov["metrics"]["test"]["BSD68"]["25"] > 20 and "DnCNN_Train400" in prov["data"]
    assert prov["init"]["provenance"]["metrics"]["test"]["psnr"]["BSD68"]["25"] > 20  # the phases it continued are kept
    assert weights.weight_path(SHIPPED).stat().st_size < 5 * 2**20  # a few MB at most
    torch.load(weights.weight_path(SHIPPED), weights_only=True)


def test_shipped_denoiser_denoises_a_held_out_image(shared_data):
    image = load_images(shared_data("natural/Set12"), limit=1)[0][None]
    g = torch.Generator().manual_seed(7)
    model = weights.load_pretrained(SHIPPED)
    for sigma in (15, 50):
        noisy = image + sigma / 255 * torch.randn(image.shape, generator=g)
        with torch.no_grad():
            gain = float(psnr(model(noisy, sigma / 255).clamp(0, 1), image) - psnr(noisy, image))
        assert gain > 4.0, (sigma, gain)  # a broken or identity model gives ~0


def test_missing_and_corrupted_files_name_the_file(tmp_path, monkeypatch):
    src = weights.weight_path(SHIPPED)
    shutil.copy(src.with_suffix(".json"), tmp_path / f"{SHIPPED}.json")
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(
        WeightsError, match=rf"{SHIPPED}\.pt' does not exist.*continues earlier training.*{SHIPPED}\.json.*docs/priors.md"
    ):
        weights.load_pretrained(SHIPPED)
    (tmp_path / f"{SHIPPED}.pt").write_bytes(src.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=rf"{SHIPPED}\.pt' could not be read.*corrupted"):
        weights.load_pretrained(SHIPPED)
    with pytest.raises(ValueError, match="no shipped weights named 'nope'"):
        weights.load_pretrained("nope")
