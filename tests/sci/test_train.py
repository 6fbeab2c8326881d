"""The DE-GAP / DE-RNN recipe on deq-core's harness: stages, resume, new phases with --init, DE-RNN, real-video
folders and the Jacobian term. (The harness itself is tested in tests/core/test_training.py.)"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from deq.core.errors import DeqError, WeightsError
from deq.models.sci.train import main as train_main
from deq.models.sci.weights import load_weights
from deq.operators.sci import CACTI

TINY = ["--size", "16", "--frames", "4", "--batch", "1", "--max-iter", "3", "--val-clips", "1", "--no-progress"]
TINY_NET = ["--denoiser-options", json.dumps({"depth": 2, "width": 4})]


@pytest.fixture
def synthetic(shared_data):
    data_dir = shared_data("natural/DnCNN_Train400").parent.parent
    return ["--data-dir", str(data_dir), "--val-images", "2", *TINY]


def _reconstructs(model) -> bool:
    op = CACTI((torch.rand(4, 16, 16) > 0.5).float())
    return model.reconstruct(op(torch.rand(1, 1, 4, 16, 16)), op).shape == (1, 1, 4, 16, 16)


def test_stages_resume_and_a_new_phase_keep_their_provenance(tmp_path, synthetic):
    run = [*synthetic, *TINY_NET, "--pretrain-steps", "2", "--ckpt-every", "1", "--out", str(tmp_path / "a")]
    assert train_main([*run, "--steps", "2"]) == 0  # stage 1 only
    assert train_main([*run, "--steps", "3", "--resume"]) == 0  # one equilibrium step more
    model = load_weights(tmp_path / "a" / "weights.pt")
    prov = model.provenance
    assert prov["steps"] == 3 and "val_psnr" in prov["metrics"]["validation"] and "held out" in prov["data"]
    assert _reconstructs(model) and model.solver_config.warn_unconverged  # training's warnings-off is not stored

    phase2 = [*synthetic, "--pretrain-steps", "0", "--steps", "1", "--lr", "0"]  # the network comes from --init
    assert train_main([*phase2, "--init", str(tmp_path / "a" / "weights.pt"), "--out", str(tmp_path / "b")]) == 0
    second = load_weights(tmp_path / "b" / "weights.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), second.state_dict().values()))
    assert second.provenance["init"]["provenance"]["steps"] == 3
    with pytest.raises(DeqError, match="this run builds"):  # --init of another network
        train_main([*phase2, "--radius", "2", "--init", str(tmp_path / "a" / "weights.pt"), "--out", str(tmp_path / "c")])


def test_accelerate_trains_the_data_consistent_map_from_an_init_file(tmp_path, synthetic):
    base = [*synthetic, *TINY_NET]
    assert train_main([*base, "--pretrain-steps", "1", "--steps", "1", "--out", str(tmp_path / "start")]) == 0
    run = [*base, "--pretrain-steps", "0", "--steps", "2", "--init", str(tmp_path / "start" / "weights.pt")]
    assert train_main([*run, "--accelerate", "--warm-start", "3", "--backward", "jfb", "--out", str(tmp_path / "acc")]) == 0
    model = load_weights(tmp_path / "acc" / "weights.pt")
    assert model.warm_start == 3 and model.accelerate and model.map.accelerate and _reconstructs(model)
    start = load_weights(tmp_path / "start" / "weights.pt")
    assert any(not torch.equal(a, b) for a, b in zip(start.state_dict().values(), model.state_dict().values()))
    for wrong in (["--pretrain-steps", "1"], ["--pretrain-steps", "0", "--jac-reg", "1e-3"]):
        with pytest.raises(ValueError, match="--accelerate trains the equilibrium stage only"):
            train_main([*base, *wrong, "--steps", "1", "--accelerate", "--out", str(tmp_path / "bad")])


def test_recipe_trains_dernn_and_its_weights_load_only_as_dernn(tmp_path, synthetic):
    from deq.models.sci.dernn import DERNN

    argv = [*synthetic, "--model", "de-rnn", "--rnn-options", json.dumps({"width": 3}), "--pretrain-steps", "1"]
    assert train_main([*argv, "--steps", "2", "--out", str(tmp_path)]) == 0
    model = load_weights(tmp_path / "weights.pt", model="de-rnn")
    assert isinstance(model, DERNN) and model.map.rnn.width == 3 and model.provenance["steps"] == 2
    assert _reconstructs(model)
    with pytest.raises(WeightsError, match="holds the weights of model 'de-rnn'"):
        load_weights(tmp_path / "weights.pt", model="de-gap")


def test_jacobian_regularisation_enters_the_gradient(tmp_path, synthetic):
    """``--jac-reg`` adds c ||J_f||_F^2/n to the stage-2 loss: from the same start, the same clip and the same
    solve, the step with c > 0 moves the weights elsewhere than the step with c = 0, and the term is logged."""
    base = [*synthetic, *TINY_NET, "--log-every", "1"]
    assert train_main([*base, "--pretrain-steps", "1", "--steps", "1", "--out", str(tmp_path / "start")]) == 0
    states, logs = [], []
    for c in ("0", "10"):
        out = tmp_path / f"c{c}"
        run = [*base, "--pretrain-steps", "0", "--steps", "1", "--init", str(tmp_path / "start" / "weights.pt")]
        assert train_main([*run, "--jac-reg", c, "--out", str(out)]) == 0
        states.append(load_weights(out / "weights.pt").state_dict())
        logs.append(json.loads((out / "log.jsonl").read_text().splitlines()[-1]))
    assert any(not torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert logs[0]["jac"] == 0.0 and logs[1]["jac"] > 0.0


def test_recipe_trains_on_video_folders(tmp_path):
    g = np.random.default_rng(0)
    for v in range(3):
        folder = tmp_path / "videos" / f"v{v}"
        folder.mkdir(parents=True)
        for f in range(6):
            Image.fromarray(g.integers(0, 255, (20, 24), dtype=np.uint8)).save(folder / f"{f:05d}.png")
    argv = ["--videos", str(tmp_path / "videos"), "--val-videos", "1", *TINY, *TINY_NET, "--pretrain-steps", "1"]
    assert train_main([*argv, "--steps", "2", "--out", str(tmp_path / "run")]) == 0
    meta = json.loads((tmp_path / "run" / "weights.json").read_text())["provenance"]
    assert "first 2 videos; last 1 held out" in meta["data"] and meta["steps"] == 2
    with pytest.raises(ValueError, match="leaves no training videos"):
        train_main([*argv, "--val-videos", "3", "--steps", "1", "--out", str(tmp_path / "run2")])


def test_denoiser_weights_start_the_map_and_must_fit(tmp_path, synthetic):
    from deq.core.registry import create
    from deq.core.weights import make_provenance, save_weights

    prov = make_provenance(script="t", command="t", data="none", steps=0, seed=0, device="cpu", wall_seconds=0)
    cnn = create("prior", "cnn", in_channels=3, depth=2, width=4)
    save_weights(
        cnn, tmp_path / "cnn.pt", kind="prior", name="cnn", config={"in_channels": 3, "depth": 2, "width": 4}, provenance=prov
    )
    run = [*synthetic, *TINY_NET, "--pretrain-steps", "1", "--steps", "1", "--lr", "0"]
    assert train_main([*run, "--denoiser-weights", str(tmp_path / "cnn.pt"), "--out", str(tmp_path / "a")]) == 0
    model = load_weights(tmp_path / "a" / "weights.pt")
    got = model.map.denoiser.denoiser.state_dict()
    assert all(torch.equal(got[k], v) for k, v in cnn.state_dict().items())
    (record,) = model.provenance["phases"][0]["weight_files"]  # the file is traceable by its bytes, not only its path
    assert record == {
        "weights": str(tmp_path / "cnn.pt"),
        "sha256": hashlib.sha256((tmp_path / "cnn.pt").read_bytes()).hexdigest(),
    }
    wide = create("prior", "cnn", in_channels=3, depth=2, width=8)
    save_weights(
        wide, tmp_path / "wide.pt", kind="prior", name="cnn", config={"in_channels": 3, "depth": 2, "width": 8}, provenance=prov
    )
    with pytest.raises(DeqError, match="does not fit the --denoiser of this run"):
        train_main([*run, "--denoiser-weights", str(tmp_path / "wide.pt"), "--out", str(tmp_path / "b")])


def test_several_compression_ratios_and_shifting_masks(tmp_path, synthetic):
    argv = [a for a in synthetic if a not in ("--frames", "4")] + [*TINY_NET, "--pretrain-steps", "1", "--steps", "2"]
    assert train_main([*argv, "--frames", "4,6", "--masks", "binary,shifting", "--out", str(tmp_path)]) == 0
    prov = load_weights(tmp_path / "weights.pt").provenance
    assert {"val_psnr_B4", "val_psnr_B6", "val_psnr"} <= set(prov["metrics"]["validation"])
    assert "B = 4, 6-frame" in prov["data"] and "binary or shifting masks" in prov["data"]


def test_shifting_mask_moves_one_pixel_per_frame():
    from deq.models.sci.synthetic import random_mask

    m = random_mask("shifting", 5, 6, 7, torch.Generator().manual_seed(0))
    assert m.shape == (5, 6, 7) and torch.equal(m[1, :, :-1], m[0, :, 1:]) and 0 <= float(m.min()) < float(m.max()) <= 1
    with pytest.raises(ValueError, match="mask kind"):
        random_mask("dots", 2, 3, 3, torch.Generator())


@pytest.mark.parametrize("backward", [[], ["--backward", "jfb"], ["--jac-reg", "0.1"]], ids=["ift", "jfb", "jac-reg"])
def test_one_batched_solve_gives_the_gradient_of_one_solve_per_clip(synthetic, backward):
    """``--solve-batch`` (stage 2 as one solve over the batch) against the default (one solve per clip): each
    sample stops on its own in either, so the loss, the logged iterations and every weight's gradient agree (up to
    floating-point batching and the spectral norm's power step, taken once per solve), for the IFT and JFB
    backward and with the Jacobian term (its Hutchinson probes drawn from the same seed: on the CPU one draw of two
    samples equals two draws of one when a sample's size is a multiple of 16, as here)."""
    from deq.core.training import StepContext, recipe_from, recipe_parser
    from deq.models.sci.train import SCIRecipe

    rnn = json.dumps({"width": 3, "coeff": 0.5})
    tight = ["--tol", "1e-6", "--max-iter", "300", "--batch", "2", "--pretrain-steps", "0", "--out", "unused"]
    results = []
    for extra in ([], ["--solve-batch"]):
        argv = [*synthetic, "--model", "de-rnn", "--rnn-options", rnn, *tight, *backward, *extra]
        args = recipe_parser(SCIRecipe).parse_args(argv)
        recipe = recipe_from(SCIRecipe, args)
        torch.manual_seed(0)
        model = recipe.build()[0]
        solves, terms = [], recipe._equilibrium_terms
        recipe._equilibrium_terms = lambda m, x, *rest: (solves.append(x.shape[0]), terms(m, x, *rest))[1]
        torch.manual_seed(1)  # the Hutchinson probes
        logged = recipe.step(model, StepContext(0, 0, 1, torch.device("cpu"), 2, torch.Generator().manual_seed(0)))
        results.append((logged, {k: p.grad.clone() for k, p in model.named_parameters()}, solves))
    (per_clip, g1, s1), (batched, g2, s2) = results
    assert s1 == [1, 1] and s2 == [2]  # two solves of one clip, one solve of two
    assert per_clip["loss"] == pytest.approx(batched["loss"], rel=1e-5)
    assert per_clip["iters"] == pytest.approx(batched["iters"])
    assert per_clip["jac"] == pytest.approx(batched["jac"], rel=1e-4)
    assert (per_clip["jac"] > 0) == ("--jac-reg" in backward)
    for k in g1:
        torch.testing.assert_close(g2[k], g1[k], rtol=1e-3, atol=1e-4 * float(g1[k].abs().max()))
