"""Registration, ``deq reconstruct luser`` on simulated and measured data of each task and its one-line errors, the
shipped weights (deq format, provenance, loading by task), and ``deq bench luser`` on a small run."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from deq.core import registry
from deq.core.cli import main as deq_main
from deq.core.errors import WeightsError
from deq.models.luser.train import main as train_main
from deq.models.luser.weights import shipped

MODELS = ("lu-dncnn", "deq4ip", "luser-sw", "luser-dw")


def test_components_are_registered():
    for name in MODELS:
        assert registry.get("model", name).distribution == "deq-models-luser"
    for kind in ("bench", "train", "reconstruct"):
        assert registry.get(kind, "luser").plugin == "luser"


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> dict[str, str]:
    """LUSER-SW weight files trained for one step on CT (16x16) and deblurring (from phantoms / crops)."""
    root = tmp_path_factory.mktemp("luser-weights")
    out = {}
    quick = ["--size", "16", "--batch", "1", "--steps", "1", "--max-iter", "3", "--val-items", "1", "--no-progress"]
    argv = ["--model", "luser-sw", "--task", "ct", *quick, "--out", str(root / "ct")]
    assert train_main(argv) == 0
    out["ct"] = str(root / "ct" / "weights.pt")
    return out


def _fails(capsys, argv: list[str], pattern: str) -> None:
    assert deq_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deq: error: ") and err.count("\n") == 1 and re.search(pattern, err), err


def test_reconstruct_ct_from_an_image_and_from_a_sinogram(tmp_path, capsys, tiny_weights):
    from deq.models.luser.tasks import ct_operator

    image = (np.linspace(0, 255, 20 * 20).reshape(20, 20)).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "phantom.png")
    base = ["reconstruct", "luser", "--task", "ct", "--model", "luser-sw", "--weights", tiny_weights["ct"]]
    assert deq_main([*base, "--image", str(tmp_path / "phantom.png"), "--size", "16", "--output", str(tmp_path / "a")]) == 0
    assert "PSNR" in capsys.readouterr().out
    recon = np.load(tmp_path / "a" / "recon.npy")
    assert recon.shape == (1, 16, 16) and (tmp_path / "a" / "recon.png").is_file()
    op = ct_operator(16)
    sino = op.op(torch.rand(1, 1, 16, 16))[0, 0].numpy()
    np.save(tmp_path / "sino.npy", sino)
    argv = [*base, "--input", str(tmp_path / "sino.npy"), "--size", "16", "--output", str(tmp_path / "b")]
    assert deq_main(argv) == 0 and np.load(tmp_path / "b" / "recon.npy").shape == (1, 16, 16)
    _fails(capsys, [*base, "--input", str(tmp_path / "sino.npy"), "--size", "20", "--output", str(tmp_path / "c")], "expected")
    _fails(capsys, [*base, "--input", str(tmp_path / "sino.npy"), "--output", str(tmp_path / "c")], "needs --size")
    wrong = ["reconstruct", "luser", "--task", "deblur", "--model", "luser-sw", "--weights", tiny_weights["ct"]]
    _fails(capsys, [*wrong, "--image", str(tmp_path / "phantom.png"), "--output", str(tmp_path / "d")], "trained for task 'ct'")
    missing = ["reconstruct", "luser", "--task", "ct", "--model", "luser-sw", "--weights", str(tmp_path / "none.pt")]
    _fails(
        capsys, [*missing, "--image", str(tmp_path / "phantom.png"), "--output", str(tmp_path / "e")], "none.pt' does not exist"
    )


def test_reconstruct_mri_needs_its_mask(tmp_path, capsys):
    k = (np.random.default_rng(0).standard_normal((16, 16)) + 1j).astype(np.complex64)
    np.save(tmp_path / "k.npy", k)
    argv = ["reconstruct", "luser", "--task", "mri4x", "--input", str(tmp_path / "k.npy"), "--output", str(tmp_path / "o")]
    _fails(capsys, argv, "needs --mask")


@pytest.mark.skipif(not shipped(), reason="no shipped weights in deq.models.luser.weights")
def test_shipped_weights_are_deq_files_with_provenance_and_load_by_task(tmp_path, monkeypatch):
    from deq.core.weights import PROVENANCE_KEYS
    from deq.models.luser import weights as luser_weights

    found = shipped()
    for model in ("lu-dncnn", "deq4ip", "luser-sw", "luser-dw"):
        for task in ("deblur", "ct", "mri4x", "mri8x"):
            assert (model, task, "final") in found, f"{model} on {task} is not shipped"
            assert model == "deq4ip" or (model, task, "aux") in found, f"{model} on {task} (auxiliary loss) is not shipped"
    for (model, task, loss), path in found.items():
        blob = torch.load(path, weights_only=True)
        meta = json.loads(path.with_suffix(".json").read_text())
        assert blob["name"] == model and blob["config"]["task"] == task and meta["config"] == blob["config"]
        assert all(k in blob["provenance"] for k in PROVENANCE_KEYS) and blob["provenance"]["steps"] > 0
        assert blob["provenance"]["options"]["aux_loss"] == (loss == "aux")
        assert "val_psnr" in blob["provenance"]["metrics"]["validation"]
    model = registry.create("model", "luser-dw", pretrained=True, task="ct")
    assert model.task == "ct" and not model.training
    monkeypatch.setattr(luser_weights, "WEIGHTS_DIR", tmp_path)  # a package installed without its weights
    with pytest.raises(WeightsError, match="no shipped weights"):
        registry.create("model", "luser-dw", pretrained=True, task="mri8x")


@pytest.mark.skipif(not shipped(), reason="no shipped weights in deq.models.luser.weights")
def test_reconstruct_deblur_with_the_shipped_weights(tmp_path, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    argv = ["reconstruct", "luser", "--task", "deblur", "--model", "lu-dncnn", "--image", str(tmp_path / "photo.png")]
    assert deq_main([*argv, "--output", str(tmp_path / "o")]) == 0
    assert np.load(tmp_path / "o" / "recon.npy").shape == (3, 24, 20)  # deblurring runs at the image's own size
    assert "PSNR" in capsys.readouterr().out
    argv = ["reconstruct", "luser", "--task", "deblur", "--model", "lu-dncnn", "--input", str(tmp_path / "photo.png")]
    _fails(capsys, [*argv, "--max-iter", "5", "--output", str(tmp_path / "p")], "LU-DnCNN has no solver")


@pytest.mark.skipif(not shipped(), reason="no shipped weights in deq.models.luser.weights")
def test_bench_cost_section_counts_operator_calls(tmp_path, shared_data):
    shared_data("natural/CBSD68")
    out = tmp_path / "bench.md"
    assert deq_main(["bench", "luser", "--sections", "cost", "--tasks", "ct", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<!-- bench:luser -->" in text and "deq bench luser --sections cost --tasks ct --repeats 1" in text
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in text.splitlines() if line.startswith("| ct |")}
    calls = {model: int(line.split("|")[-2]) for (_, model), line in rows.items()}
    assert calls["DEQ4IP"] > calls["LUSER-DW"] == calls["LU-DnCNN"] == 17
    assert calls.get("LUSER-SW", 17) == 17


def test_training_memory_per_sample_lu_dncnn_above_luser():
    """Table 3's ordering: the unrolled DnCNN keeps every stage's activations, LUSER only one shallow block's graph
    per stage (implicit gradient); per-sample memory is the slope between batch 1 and 4, the fixed part apart."""
    from deq.models.luser.bench import training_memory

    lu, lu_fixed, lu_params = training_memory("lu-dncnn", "ct", 16)
    dw, _, dw_params = training_memory("luser-dw", "ct", 16)
    assert (lu_params, dw_params) == (556_033, 751_625)
    assert lu > 2 * dw > 0 and lu_fixed >= 0


@pytest.mark.skipif(not shipped(), reason="no shipped weights in deq.models.luser.weights")
def test_bench_figure_is_one_grid_row_per_task(tmp_path):
    pytest.importorskip("matplotlib", reason="the figure needs deq-core's plots extra (matplotlib)")
    from deq.models.luser.bench import figure

    models = {
        (m, "deblur", "final"): registry.create("model", m, pretrained=True, task="deblur") for m in ("lu-dncnn", "luser-dw")
    }
    results = {"deblur": {"images": torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))}}
    path = figure(models, results, tmp_path / "fig" / "luser.png")
    assert path == tmp_path / "fig" / "luser.png"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 4 * im.height  # one row of 5: x_0, two models, DEQ4IP (no weights: empty), truth
    assert figure(models, {}, tmp_path / "none.png") is None
