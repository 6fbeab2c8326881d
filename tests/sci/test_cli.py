"""Plugin registration, ``deq reconstruct sci`` round trip, the demo without weights, and a tiny
resumable training run that writes loadable weights."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io as sio

from deq.core import registry
from deq.core.checkpoint import WeightsError
from deq.core.cli import main as deq_main
from deq.models.sci.io import SCIDataError


def test_components_are_registered():
    for name in ("gap-tv", "pnp-gap", "pnp-admm", "de-gap", "de-rnn"):
        assert registry.get("model", name).distribution == "deq-models-sci"
    assert registry.get("demo", "sci").plugin == "sci" and registry.get("bench", "sci").plugin == "sci"
    model = registry.create("model", "de-rnn", width=2)
    assert callable(model.reconstruct)


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
    rc = deq_main(
        [
            "reconstruct",
            "sci",
            "--input",
            str(tmp_path / "meas.mat"),
            "--mask",
            str(tmp_path / "mask.mat"),
            "--output",
            str(out),
            "--method",
            "gap-tv",
            "--max-iter",
            "10",
        ]
    )
    assert rc == 0
    recon = sio.loadmat(out / "recon.mat")["recon"]
    assert recon.shape == orig.shape and (out / "recon_frames.png").is_file()
    err = np.abs(recon - orig.astype(np.float64)).mean()
    assert err < 0.5 * np.abs(orig - orig.mean()).mean()  # far better than a flat guess, on the 0..255 scale
    assert "PSNR" in capsys.readouterr().out


def test_reconstruct_errors(tmp_path):
    _write_case(tmp_path)
    base = ["reconstruct", "sci", "--input", str(tmp_path / "meas.mat"), "--output", str(tmp_path / "o"), "--method", "gap-tv"]
    with pytest.raises(SCIDataError, match="holds no mask"):
        deq_main(base)
    with pytest.raises(SCIDataError, match="--frames 8 but the mask holds B = 4"):
        deq_main(base + ["--mask", str(tmp_path / "mask.mat"), "--frames", "8"])
    sio.savemat(tmp_path / "mask_small.mat", {"mask": np.ones((16, 16, 4), np.uint8)})
    with pytest.raises(SCIDataError, match="same height and width"):
        deq_main(base + ["--mask", str(tmp_path / "mask_small.mat")])
    with pytest.raises(WeightsError, match="missing.pt"):
        deq_main(
            base[:-2] + ["--mask", str(tmp_path / "mask.mat"), "--method", "de-gap", "--weights", str(tmp_path / "missing.pt")]
        )


def test_demo_without_weights_says_so(tmp_path, capsys):
    rc = deq_main(
        [
            "demo",
            "sci",
            "--output",
            str(tmp_path / "demo"),
            "--size",
            "32",
            "--weights",
            str(tmp_path / "none.pt"),
            "--methods",
            "GAP-TV,DE-GAP",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "DE-GAP skipped" in text and "GAP-TV" in text and str((tmp_path / "demo").resolve()) in text
    assert (tmp_path / "demo" / "sci_demo_frames.png").is_file() and (tmp_path / "demo" / "sci_demo.gif").is_file()
