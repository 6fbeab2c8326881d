"""Plugin registration, ``deq reconstruct sci`` round trip and its one-line errors, the demo's methods from the
registry (skipped without shipped weights, failing on given weights that do not load), and a tiny resumable
training run that writes loadable weights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.io as sio
import torch

from deq.core import registry
from deq.core.cli import main as deq_main
from deq.core.errors import WeightsError
from deq.models.sci import cli as sci_cli
from deq.models.sci.cli import sci_models


def test_components_are_registered():
    for name in ("gap-tv", "pnp-gap", "pnp-admm", "de-gap", "de-rnn"):
        assert registry.get("model", name).distribution == "deq-models-sci"
    for kind in ("demo", "bench", "train", "reconstruct"):
        assert registry.get(kind, "sci").plugin == "sci"
    assert sorted(sci_models()) == ["de-gap", "de-rnn", "gap-tv", "pnp-admm", "pnp-gap"]
    model = registry.create("model", "de-rnn", width=2)
    assert callable(model.reconstruct)


def test_train_sci_is_the_recipe(capsys):
    with pytest.raises(SystemExit) as info:
        deq_main(["train", "sci", "--help"])
    assert info.value.code == 0 and "--weights-out" in capsys.readouterr().out


def _write_case(tmp_path, b=4, n=2, size=24):
    rng = np.random.default_rng(0)
    mask = (rng.random((size, size, b)) > 0.5).astype(np.uint8)
    t = np.linspace(0, 1, n * b)
    yy, xx = np.mgrid[:size, :size]
    orig = np.stack([128 + 100 * np.sin(xx / 4 + 2 * k) * np.cos(yy / 5) for k in t], -1).astype(np.uint8)
    meas = (orig.reshape(size, size, n, b) * mask[:, :, None]).sum(-1).astype(np.float64)
    sio.savemat(tmp_path / "meas.mat", {"meas": meas, "orig": orig})
    sio.savemat(tmp_path / "mask.mat", {"mask": mask})
    return orig


def test_reconstruct_round_trip(tmp_path, capsys):
    orig = _write_case(tmp_path)
    out = tmp_path / "out"
    argv = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--mask", str(tmp_path / "mask.mat")]
    argv += ["--output", str(out), "--method", "gap-tv", "--opt", "n_iter=10"]
    assert deq_main(argv) == 0
    recon = sio.loadmat(out / "recon.mat")["recon"]
    assert recon.shape == orig.shape and (out / "recon_frames.png").is_file()
    err = np.abs(recon - orig.astype(np.float64)).mean()
    assert err < 0.5 * np.abs(orig - orig.mean()).mean()  # far better than a flat guess, on the 0..255 scale
    assert "PSNR" in capsys.readouterr().out


def _fails(capsys, argv: list[str], pattern: str) -> None:
    """``deq ARGV`` exits with status 2 and one stderr line ``deq: error: ...`` matching ``pattern``."""
    assert deq_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deq: error: ") and err.count("\n") == 1 and re.search(pattern, err), err


def test_reconstruct_errors_are_one_line(tmp_path, capsys):
    _write_case(tmp_path)
    base = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--output", str(tmp_path / "o"), "--method", "gap-tv"]
    mask = ["--mask", str(tmp_path / "mask.mat")]
    _fails(capsys, base, "holds no mask")
    _fails(capsys, base + mask + ["--frames", "8"], "--frames 8 but the mask holds B = 4")
    sio.savemat(tmp_path / "mask_small.mat", {"mask": np.ones((16, 16, 4), np.uint8)})
    _fails(capsys, base + ["--mask", str(tmp_path / "mask_small.mat")], "same height and width")
    degap = base[:-2] + mask + ["--method", "de-gap", "--weights"]
    _fails(capsys, degap + [str(tmp_path / "missing.pt")], "missing.pt' does not exist")
    (tmp_path / "broken.pt").write_bytes(b"not a weight file")
    _fails(capsys, degap + [str(tmp_path / "broken.pt")], "broken.pt' could not be read")
    # --max-iter is the equilibrium solver's only: GAP-TV's iterations are its own option
    _fails(capsys, base + mask + ["--max-iter", "10"], r"model 'gap-tv': .*'max_iter'; it takes n_iter, ")
    _fails(capsys, base + mask + ["--weights", str(tmp_path / "broken.pt")], "'gap-tv' has no weights to load")


def test_demo_with_weights_that_do_not_load_fails(tmp_path, capsys):
    (tmp_path / "broken.pt").write_bytes(b"not a weight file")
    argv = ["demo", "sci", "--output", str(tmp_path / "demo"), "--size", "32", "--weights", str(tmp_path / "broken.pt")]
    _fails(capsys, argv, "broken.pt' could not be read")
    _fails(capsys, argv[:-2] + ["--weights", str(tmp_path / "none.pt")], "none.pt' does not exist")


def test_demo_skips_a_method_whose_shipped_weights_are_missing(tmp_path, capsys, monkeypatch):
    real = sci_cli.build_model

    def without_shipped_degap(name, weights=None, **options):
        if name == "de-gap" and weights is None:
            raise WeightsError("weight file 'degap_cnn.pt' does not exist.")
        return real(name, weights, **options)

    monkeypatch.setattr(sci_cli, "build_model", without_shipped_degap)
    rc = deq_main(["demo", "sci", "--output", str(tmp_path / "demo"), "--size", "32", "--methods", "gap-tv,de-gap"])
    text = capsys.readouterr().out
    assert rc == 0 and "de-gap skipped: its shipped weights are not available" in text and "gap-tv" in text
    assert str((tmp_path / "demo").resolve()) in text
    assert (tmp_path / "demo" / "sci_demo_frames.png").is_file() and (tmp_path / "demo" / "sci_demo.gif").is_file()


def test_demo_methods_come_from_the_registry(tmp_path, capsys):
    with pytest.raises(SystemExit):
        deq_main(["demo", "sci", "--output", str(tmp_path), "--methods", "GAP-TV"])
    assert "--methods: unknown GAP-TV; registered SCI models: de-gap, de-rnn, gap-tv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        deq_main(["demo", "sci", "--output", str(tmp_path), "--methods", "gap-tv", "--max-iter", "5"])
    assert "--weights and --max-iter configure de-gap" in capsys.readouterr().err


def test_tiny_training_run_resumes_and_ships_loadable_weights(tmp_path, shared_data):
    from deq.models.sci.train import main as train_main
    from deq.models.sci.weights import load_weights

    data_dir = shared_data("natural/DnCNN_Train400").parent.parent
    base = [
        "--data-dir",
        str(data_dir),
        "--size",
        "16",
        "--frames",
        "4",
        "--batch",
        "1",
        "--pretrain-steps",
        "2",
        "--max-iter",
        "3",
        "--val-images",
        "2",
        "--val-clips",
        "1",
        "--denoiser-options",
        json.dumps({"depth": 2, "width": 4}),
        "--ckpt-every",
        "1",
    ]
    common = [*base, "--checkpoint", str(tmp_path / "c.ckpt"), "--weights-out", str(tmp_path / "w.pt")]
    assert train_main(common + ["--steps", "0"]) == 0
    assert torch.load(tmp_path / "c.ckpt", weights_only=True)["step"] == 2
    assert train_main(common + ["--steps", "1", "--resume"]) == 0
    meta = json.loads((tmp_path / "w.json").read_text())["provenance"]
    assert meta["steps_done"] == 3 and meta["deq_steps"] == 1 and "val_psnr" in meta
    model = load_weights(tmp_path / "w.pt")
    video = torch.rand(1, 1, 4, 16, 16)
    from deq.operators.sci import CACTI

    op = CACTI((torch.rand(4, 16, 16) > 0.5).float())
    assert model.reconstruct(op(video), op).shape == video.shape

    # a new phase from these weights: the map starts from them and the provenance keeps the chain
    phase2 = [*base, "--pretrain-steps", "0", "--steps", "0", "--init", str(tmp_path / "w.pt")]
    phase2 += ["--checkpoint", str(tmp_path / "c2.ckpt"), "--weights-out", str(tmp_path / "w2.pt")]
    assert train_main(phase2) == 0
    second = load_weights(tmp_path / "w2.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.map.state_dict().values(), second.map.state_dict().values()))
    assert second.provenance["init"]["provenance"]["deq_steps"] == 1
    wrong = [*phase2[:-4], "--radius", "2", "--checkpoint", str(tmp_path / "c3.ckpt"), "--weights-out", str(tmp_path / "w3.pt")]
    with pytest.raises(ValueError, match="holds a map for"):
        train_main(wrong)


def test_recipe_trains_dernn_and_its_weights_load_only_as_dernn(tmp_path, shared_data):
    from deq.models.sci.dernn import DERNN
    from deq.models.sci.train import main as train_main
    from deq.models.sci.weights import load_weights
    from deq.operators.sci import CACTI

    data_dir = shared_data("natural/DnCNN_Train400").parent.parent
    argv = ["--model", "de-rnn", "--rnn-options", json.dumps({"width": 3}), "--data-dir", str(data_dir)]
    argv += ["--size", "16", "--frames", "4", "--batch", "1", "--pretrain-steps", "1", "--steps", "1", "--max-iter", "3"]
    argv += ["--val-images", "2", "--val-clips", "1", "--checkpoint", str(tmp_path / "c.ckpt")]
    argv += ["--weights-out", str(tmp_path / "rnn.pt")]
    assert train_main(argv) == 0
    model = load_weights(tmp_path / "rnn.pt", model="de-rnn")
    assert isinstance(model, DERNN) and model.map.rnn.width == 3 and model.provenance["deq_steps"] == 1
    op = CACTI((torch.rand(4, 16, 16) > 0.5).float())
    assert model.reconstruct(op(torch.rand(1, 1, 4, 16, 16)), op).shape == (1, 1, 4, 16, 16)
    with pytest.raises(ValueError, match="holds de-rnn weights"):
        load_weights(tmp_path / "rnn.pt", model="de-gap")


def test_jacobian_regularisation_enters_the_gradient(tmp_path, shared_data, capsys):
    """``--jac-reg`` adds c ||J_f||_F^2/n to the stage-2 loss: from the same start, the same clip and the same
    solve, the step with c > 0 moves the weights elsewhere than the step with c = 0, and the term is logged."""
    from deq.models.sci.train import main as train_main
    from deq.models.sci.weights import load_weights

    data_dir = shared_data("natural/DnCNN_Train400").parent.parent
    base = ["--data-dir", str(data_dir), "--size", "16", "--frames", "4", "--batch", "1", "--max-iter", "3"]
    base += ["--val-images", "2", "--val-clips", "1", "--denoiser-options", json.dumps({"depth": 2, "width": 4})]
    base += ["--log-every", "1"]
    start = [*base, "--pretrain-steps", "1", "--steps", "0", "--checkpoint", str(tmp_path / "s.ckpt")]
    assert train_main([*start, "--weights-out", str(tmp_path / "start.pt")]) == 0
    maps = []
    for c in ("0", "10"):
        run = [*base, "--pretrain-steps", "0", "--steps", "1", "--init", str(tmp_path / "start.pt"), "--jac-reg", c]
        run += ["--checkpoint", str(tmp_path / f"{c}.ckpt"), "--weights-out", str(tmp_path / f"{c}.pt")]
        assert train_main(run) == 0
        maps.append(load_weights(tmp_path / f"{c}.pt").map.state_dict())
    assert any(not torch.equal(maps[0][k], maps[1][k]) for k in maps[0])
    log = capsys.readouterr().out
    assert "|J|_F^2/n 0.000" in log and re.search(r"\|J\|_F\^2/n (?!0\.000)\d+\.\d{3}", log)
