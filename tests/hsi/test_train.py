"""``deq train hsi-dictionary`` and ``deq train hsi`` on deq-core's harness: what the runs write and record, resume,
the support choice on validation rows, and the errors a user can fix."""

from __future__ import annotations

import json

import pytest
import torch

from deq.core.errors import DeqError
from deq.core.weights import read_weights
from deq.models.hsi.train import B_CHOICES, SUPPORT_CHOICES
from deq.models.hsi.train import main as train_main
from deq.models.hsi.weights import load_dictionary, load_model
from deq.operators.simple import Denoising

from .conftest import FOLD, TINY_E2E


def test_dictionary_run_records_ksvd_and_the_fold(tiny_runs):
    blob = read_weights(tiny_runs / FOLD / "dict" / "weights.pt")
    assert (blob["kind"], blob["name"], blob["config"]) == ("operator", "ksvd-dictionary", {"bands": 31, "atoms": 40})
    prov = blob["provenance"]
    assert "hydice-urban held out" in prov["data"] and "K-SVD" in prov["algorithm"] and prov["steps"] == 2
    D = load_dictionary(tiny_runs / FOLD / "dict" / "weights.pt")
    assert D.shape == (31, 40) and torch.allclose(D.norm(dim=0), torch.ones(40), atol=1e-5)
    assert json.loads((tiny_runs / FOLD / "dict" / "weights.json").read_text())["provenance"]["held_out"] == FOLD


def test_model_runs_record_their_sources_and_reconstruct(tiny_runs):
    cube = torch.rand(1, 31, 12, 12)
    for name in ("du-full-sc", "deq-full-sc", "du-fast-sc", "deq-fast-sc"):
        model = load_model(name, tiny_runs / FOLD / name / "weights.pt")
        prov = model.provenance
        assert prov["steps"] == 1 and set(prov["metrics"]["validation"]) == {f"val_psnr_sigma{s}" for s in (30, 50, 70)}
        assert "dictionary" in prov["data"] and "deq train hsi-dictionary" in prov["data"] and "hsi-cnn" in prov["data"]
        assert torch.equal(model.dictionary(), load_dictionary(tiny_runs / FOLD / "dict" / "weights.pt"))
        assert model.reconstruct(cube, Denoising()).shape == cube.shape
    chosen = load_model("deq-fast-sc", tiny_runs / FOLD / "deq-fast-sc" / "weights.pt")
    config = read_weights(tiny_runs / FOLD / "deq-fast-sc" / "weights.pt")["config"]
    assert chosen.support == config["support"] in SUPPORT_CHOICES and config["b"] in B_CHOICES
    assert "starting values chosen on the validation rows" in chosen.provenance["data"]


def test_resume_continues_the_run(tiny_runs, tmp_path):
    fold = tiny_runs / FOLD
    argv = [
        *("--model", "du-fast-sc", "--held-out", FOLD, "--support", "4", "--b", "4", *TINY_E2E),
        *("--dictionary", str(fold / "dict" / "weights.pt"), "--prior-weights", str(fold / "cnn" / "weights.pt")),
        *("--out", str(tmp_path / "r"), "--ckpt-every", "1"),
    ]
    assert train_main([*argv, "--steps", "1"]) == 0
    assert train_main([*argv, "--steps", "2", "--resume"]) == 0
    prov = read_weights(tmp_path / "r" / "weights.pt")["provenance"]
    assert prov["steps"] == 2
    read = [[f["weights"] for f in p["weight_files"]] for p in prov["phases"]]  # both sessions name their two files
    assert read == [[str(fold / "dict" / "weights.pt"), str(fold / "cnn" / "weights.pt")]] * 2
    with pytest.raises(DeqError, match="exists: pass --resume"):
        train_main([*argv, "--steps", "3"])


def test_a_new_phase_of_a_model_takes_the_files_network_and_chooses_nothing_again(tiny_runs, tmp_path):
    parent = tiny_runs / FOLD / "deq-fast-sc" / "weights.pt"
    argv = ["--model", "deq-fast-sc", "--held-out", FOLD, "--block", "10", "--batch", "1", "--max-iter", "3", "--no-progress"]
    frozen = ["--steps", "1", "--lr", "0", "--penalty-lr", "0"]
    assert train_main([*argv, *frozen, "--init", str(parent), "--out", str(tmp_path / "b")]) == 0
    first, second = read_weights(parent), read_weights(tmp_path / "b" / "weights.pt")
    assert second["config"] == first["config"]  # support, b and the CNN as chosen when the parent started
    learned = [k for k in first["state_dict"] if not k.endswith(("._u", "._v"))]  # not spectral norm's power vectors
    assert all(torch.equal(first["state_dict"][k], second["state_dict"][k]) for k in learned)
    data = second["provenance"]["data"]
    assert f"from --init {parent}" in data and "chosen on the validation" not in data
    with pytest.raises(DeqError, match="holds model 'deq-fast-sc', but --model du-fast-sc"):
        train_main(["--model", "du-fast-sc", *argv[2:], "--steps", "1", "--init", str(parent), "--out", str(tmp_path / "c")])


def test_models_need_a_dictionary_and_a_pretrained_cnn(tiny_runs, tmp_path):
    with pytest.raises(ValueError, match="give both"):
        train_main(["--model", "deq-full-sc", "--held-out", FOLD, "--steps", "1", "--out", str(tmp_path / "x"), *TINY_E2E])
    wrong = [
        "--dictionary",
        str(tiny_runs / FOLD / "cnn" / "weights.pt"),
        "--prior-weights",
        str(tiny_runs / FOLD / "cnn" / "weights.pt"),
    ]
    with pytest.raises(DeqError, match="holds the weights of prior 'hsi-cnn'"):
        train_main(
            ["--model", "deq-full-sc", "--held-out", FOLD, *wrong, "--steps", "1", "--out", str(tmp_path / "y"), *TINY_E2E]
        )


def test_a_model_builds_its_cnn_with_the_options_of_the_pretrained_file(tiny_runs, tmp_path):
    """A residual CNN's weights in a direct CNN would be another network: a model takes the CNN's options from the
    ``--prior-weights`` file, and ``--prior-options`` that contradict them are an error."""
    from deq.models.hsi.weights import load_prior

    residual = json.dumps({"depth": 2, "width": 4, "residual": True})
    cnn = ["--model", "hsi-cnn", "--held-out", FOLD, "--steps", "1", "--batch", "2", "--block", "10", "--no-progress"]
    assert train_main([*cnn, "--prior-options", residual, "--out", str(tmp_path / "cnn")]) == 0
    prior_file = tmp_path / "cnn" / "weights.pt"
    argv = [
        *("--model", "du-fast-sc", "--held-out", FOLD, "--support", "4", "--b", "4", "--block", "10", "--batch", "1"),
        *("--dictionary", str(tiny_runs / FOLD / "dict" / "weights.pt"), "--prior-weights", str(prior_file)),
        *("--steps", "1", "--lr", "0", "--penalty-lr", "0", "--no-progress"),
    ]
    assert train_main([*argv, "--out", str(tmp_path / "m")]) == 0
    model = load_model("du-fast-sc", tmp_path / "m" / "weights.pt")
    x = torch.rand(2, 31, 10, 10)
    with torch.no_grad():  # lr 0: only the spectral norm's power iteration moved (1e-3); a direct CNN differs by ~x
        assert torch.allclose(model.map.prior(x), load_prior(prior_file)(x), atol=1e-2)
    with pytest.raises(ValueError, match=r"contradict the CNN of --prior-weights .* \['residual'\]"):
        train_main([*argv, "--prior-options", '{"residual": false}', "--out", str(tmp_path / "n")])
