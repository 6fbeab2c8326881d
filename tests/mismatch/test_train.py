"""``deq train mismatch``: the AWGN stage (deq-priors' recipe on this paper's data) and the AR stage (the DEQ with
a mismatched operator, started from an AWGN prior), run for two steps on tiny settings; stage errors."""

from __future__ import annotations

import json

import pytest
import torch

from deq.core.errors import DeqError
from deq.core.registry import create
from deq.core.weights import load_weights, make_provenance, read_weights, save_weights
from deq.models.mismatch import train


def tiny_unet_prior(path):
    config = {"in_channels": 3, "base": 4, "levels": 2}
    prov = make_provenance(script="test", command="test awgn", data="none", steps=7, seed=0, device="cpu", wall_seconds=0)
    return save_weights(create("prior", "unet", **config), path, kind="prior", name="unet", config=config, provenance=prov)


def test_the_first_argument_is_the_stage(capsys):
    assert train.main(["--help"]) == 0 and "Stages: awgn, ar" in capsys.readouterr().out
    with pytest.raises(DeqError, match="one of \\['ar', 'awgn'\\]"):
        train.main(["denoise", "--out", "x"])


def test_awgn_stage_trains_the_tasks_denoiser_on_its_images(shared_data, tmp_path):
    shared_data("natural/Set14")
    shared_data("natural/Set5")
    out = tmp_path / "awgn"
    argv = ["awgn", "--task", "sr", "--sigma", "10", "--steps", "2", "--batch", "2", "--patch", "24", "--opt", "base=4"]
    argv += ["--opt", "levels=2", "--val-images", "1", "--val-crop", "24", "--out", str(out), "--no-progress"]
    assert train.main(argv) == 0
    blob = read_weights(out / "weights.pt")
    assert (blob["kind"], blob["name"]) == ("prior", "unet") and blob["config"]["in_channels"] == 3
    prov = blob["provenance"]
    assert prov["script"] == "deq train mismatch awgn" and prov["command"].startswith("deq train mismatch awgn --task sr")
    assert "never natural/CBSD68" in prov["data"] and "val_psnr_sigma10" in prov["metrics"]["validation"]


def test_ar_stage_trains_through_the_deq_from_an_awgn_prior_with_the_mismatched_scales(shared_data, tmp_path):
    shared_data("natural/Set14")
    shared_data("kernels/kernels_12.mat")
    awgn = tiny_unet_prior(tmp_path / "awgn.pt")
    out = tmp_path / "ar"
    argv = ["ar", "--task", "sr", "--awgn", str(awgn), "--tau", "2", "--steps", "2", "--patch", "28", "--max-iter", "3"]
    argv += ["--backward-max-iter", "3", "--eval-max-iter", "3", "--val-images", "1", "--val-crop", "36", "--out", str(out)]
    assert train.main([*argv, "--no-progress"]) == 0
    blob = read_weights(out / "weights.pt")
    assert (blob["kind"], blob["name"]) == ("model", "pnp-pgm")
    assert blob["config"]["denoiser_options"] == {"in_channels": 3, "base": 4, "levels": 2} and blob["config"]["tau"] == 2
    start = torch.load(awgn, weights_only=True)["state_dict"]
    trained = blob["state_dict"]
    assert any(not torch.equal(trained[f"map.denoiser.{k}"], v) for k, v in start.items())  # it moved from the start
    prov = blob["provenance"]
    assert "initialised from AWGN prior" in prov["data"] and "test awgn" in prov["data"] and "s = [2, 4]" in prov["data"]
    assert {"val_psnr_s2_k1", "val_psnr_s4_k4"} <= set(prov["metrics"]["validation"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if "step" in line]
    assert log[-1]["iters"] <= 3 and log[-1]["back_iters"] >= 1
    model = load_weights(out / "weights.pt")
    assert model.solver_config.eval_max_iter == 3 and model.map.gamma == pytest.approx(0.5)


def test_ar_stage_refuses_a_model_file_as_its_awgn_start(shared_data, tmp_path):
    shared_data("natural/Set14")
    model = create("model", "pnp-pgm", denoiser_options={"in_channels": 3, "base": 4, "levels": 2})
    prov = make_provenance(script="t", command="t", data="none", steps=0, seed=0, device="cpu", wall_seconds=0)
    path = save_weights(model, tmp_path / "m.pt", kind="model", name="pnp-pgm", config={}, provenance=prov)
    with pytest.raises(DeqError, match="expected an AWGN prior weight file"):
        train.main(["ar", "--task", "sr", "--awgn", str(path), "--tau", "1", "--out", str(tmp_path / "o"), "--steps", "1"])
