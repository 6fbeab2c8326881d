"""Plugin registration, ``deq reconstruct sci`` round trip and its one-line errors, the demo's methods from the
registry (skipped without shipped weights, failing on given weights that do not load). Training: test_train.py."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.io as sio

from deq.core import registry
from deq.core.cli import main as deq_main
from deq.core.errors import WeightsError
from deq.models.sci import cli as sci_cli
from deq.models.sci.cli import sci_models
from deq.models.sci.models import ACCEL_PRESETS, FAST_PRESETS


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
    assert info.value.code == 0 and "--out OUT" in capsys.readouterr().out


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
    _fails(capsys, base + mask + ["--weights", str(tmp_path / "broken.pt")], "gap-tv has no learned weights")
    _fails(capsys, base + mask + ["--fast"], "--fast applies to de-gap and de-rnn, not gap-tv")


@pytest.mark.parametrize("flag", ["--fast", "--accelerated"])
@pytest.mark.parametrize("method", ["de-gap", "de-rnn"])
def test_reconstruct_presets_use_the_method_s_settings(tmp_path, capsys, monkeypatch, method, flag):
    from deq.models.sci.weights import ACCEL_FFDNET_WEIGHTS

    _write_case(tmp_path)
    built = {}
    real = sci_cli.build_model

    def spy(name, weights=None, **options):
        built["model"], built["weights"] = real(name, weights, **options), weights
        return built["model"]

    monkeypatch.setattr(sci_cli, "build_model", spy)
    argv = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--mask", str(tmp_path / "mask.mat")]
    argv += ["--output", str(tmp_path / "out"), "--method", method, flag, "--max-iter", "7"]
    assert deq_main(argv) == 0 and "PSNR" in capsys.readouterr().out
    model, preset = built["model"], (FAST_PRESETS if flag == "--fast" else ACCEL_PRESETS)[method]
    config = model.solver_config
    assert model.warm_start == preset["warm_start"] and config.max_iter == config.eval_max_iter == 7
    assert (config.forward_autocast, config.tol) == (preset["solver"].get("forward_autocast"), preset["solver"]["tol"])
    assert model.accelerate == (flag == "--accelerated")
    # de-gap's accelerated state comes with the weights trained in it
    assert (built["weights"] == str(ACCEL_FFDNET_WEIGHTS)) == (flag == "--accelerated" and method == "de-gap")


def test_reconstruct_quick_runs_the_accelerated_cnn_file_for_a_fixed_number_of_applications(tmp_path, capsys, monkeypatch):
    from deq.models.sci.models import ACCEL_PLAIN
    from deq.models.sci.weights import ACCEL_WEIGHTS

    _write_case(tmp_path)
    built, calls = {}, []
    real = sci_cli.build_model

    def spy(name, weights=None, **options):
        model = real(name, weights, **options)
        built["model"], built["weights"] = model, weights
        iterate = model.iterate
        model.iterate = lambda y, op, n, **kw: calls.append(n) or iterate(y, op, n, **kw)
        return model

    monkeypatch.setattr(sci_cli, "build_model", spy)
    argv = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--mask", str(tmp_path / "mask.mat")]
    argv += ["--output", str(tmp_path / "out"), "--quick"]
    assert deq_main(argv) == 0 and "PSNR" in capsys.readouterr().out
    model = built["model"]
    assert built["weights"] == str(ACCEL_WEIGHTS) and model.accelerate and model.warm_start == ACCEL_PLAIN["warm_start"]
    assert calls and set(calls) == {ACCEL_PLAIN["applications"]}  # every snapshot: the fixed applications, no solve
    _fails(capsys, [*argv, "--max-iter", "5"], "drop --max-iter")
    _fails(capsys, [*argv, "--method", "de-rnn"], "--quick applies to de-gap, not de-rnn")


def test_reconstruct_presets_are_refused_where_they_do_not_apply(tmp_path, capsys):
    _write_case(tmp_path)
    argv = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--mask", str(tmp_path / "mask.mat")]
    argv += ["--output", str(tmp_path / "out")]
    _fails(capsys, [*argv, "--accelerated", "--fast"], "give one")
    _fails(capsys, [*argv, "--method", "gap-tv", "--accelerated"], "--accelerated applies to de-gap and de-rnn")


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
