"""The shipped weights: deq's one format, read with ``weights_only=True`` through the registry, with provenance
(how far each was trained, on which split); the AR priors start from the sigma = 5 AWGN prior of their task and
improve on the starting point of their iteration on a validation image."""

from __future__ import annotations

import json

import pytest
import torch

from deq.core.metrics import psnr
from deq.core.registry import create
from deq.core.weights import PROVENANCE_KEYS
from deq.models.mismatch import data
from deq.models.mismatch.weights import AR_WEIGHTS, WEIGHTS_DIR, available, awgn_priors, load_prior

QUICK = {"max_iter": 25, "eval_max_iter": 25, "warn_unconverged": False}


def test_every_shipped_file_is_plain_tensors_with_provenance_and_a_json_twin():
    names = available()
    assert set(AR_WEIGHTS.values()) <= set(names)
    assert set(awgn_priors("mri")) == {2 / 255, 5 / 255, 10 / 255} and 5 / 255 in awgn_priors("sr")
    for name in names:
        blob = torch.load(WEIGHTS_DIR / f"{name}.pt", weights_only=True)
        meta = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
        assert blob["format"] == "deq-weights/1" and {k: blob[k] for k in meta} == meta
        prov = blob["provenance"]
        assert set(PROVENANCE_KEYS) <= set(prov) and prov["steps"] > 0
        assert prov["command"].startswith("deq train mismatch")
        assert "brain_test_01-10" in prov["data"] or "never natural/CBSD68" in prov["data"]  # the test split is named, unused
        assert prov["metrics"]["validation"] and not prov["metrics"]["test"]


@pytest.mark.parametrize(("task", "channels"), [("mri", 1), ("sr", 3)])
def test_awgn_priors_denoise_their_validation_images(task, channels):
    for sigma, name in awgn_priors(task).items():
        prior = load_prior(name)
        assert prior.in_channels == channels and not prior.training
        key, value = next(iter(prior.provenance["metrics"]["validation"].items()))
        assert key == f"val_psnr_sigma{sigma * 255:g}"
        assert value > -10 * torch.log10(torch.tensor(sigma**2)).item() + 0.3  # above the noisy input's PSNR


@pytest.mark.parametrize("model", ["sd-red", "pnp-pgm"])
def test_ar_models_start_from_their_tasks_sigma_5_awgn_prior(model):
    ar = create("model", model, pretrained=True)
    task = "mri" if model == "sd-red" else "sr"
    awgn = load_prior(awgn_priors(task)[5 / 255])
    assert ar.provenance["data"].count(f"initialised from AWGN prior {awgn_priors(task)[5 / 255]}") == 1
    assert type(ar.denoiser) is type(awgn) and ar.denoiser.in_channels == awgn.in_channels
    assert any(not torch.equal(a, b) for a, b in zip(ar.denoiser.state_dict().values(), awgn.state_dict().values()))


def test_shipped_sd_red_beats_zero_filling_on_a_validation_image(shared_data):
    shared_data(data.MRI_IMAGES)
    x = data.brain_images([41])
    op = data.mri_operator(data.mri_mask(10))
    y = op(x)
    rec = create("model", "sd-red", pretrained=True, solver=QUICK).reconstruct(y, op)
    assert float(psnr(rec.clamp(0, 1), x)) > float(psnr(op.adjoint(y).clamp(0, 1), x)) + 1.0


def test_shipped_pnp_pgm_beats_bicubic_at_the_unseen_scale_3(shared_data):
    shared_data(data.SR_VAL)
    shared_data(data.KERNELS_FILE)
    x = torch.stack(data.sr_images(data.SR_VAL, 60, 12, limit=2))
    op = data.sr_operator(data.sr_kernels([1])[0], 3)
    y = op(x) + data.SR_NOISE * torch.randn(op(x).shape, generator=torch.Generator().manual_seed(0))
    model = create("model", "pnp-pgm", pretrained=True, solver=QUICK)
    rec = model.reconstruct(y, op)
    assert float(psnr(rec.clamp(0, 1), x).mean()) > float(psnr(model.initial(y, op).clamp(0, 1), x).mean()) + 0.5
