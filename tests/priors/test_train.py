"""The AWGN denoiser recipe on deq-core's harness, end to end on a tiny generated image folder: the loss goes
down, the weights file loads through the registry with validation and test metrics in its provenance, and
a new phase starts from a run's weights. (Resume, kill -9 and DDP are the harness's: tests/core/test_training.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deq.core.weights import load_weights
from deq.priors.train import main


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("imgs")
    yy, xx = np.mgrid[0:32, 0:32]
    for k in range(4):
        im = 127 + 100 * np.sin(xx / (3 + k)) * np.cos(yy / (4 + k))
        Image.fromarray(im.astype(np.uint8)).save(folder / f"im{k}.png")
    return folder


def _argv(images: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [
        "--prior", "cnn", "--opt", "depth=2", "--opt", "width=4",
        "--train", str(images), "--val", str(images), "--test", str(images), "--patch", "16", "--batch", "8",
        "--steps", str(steps), "--out", str(out), "--seed", "3", "--no-progress", "--device", "cpu", "--log-every", "1", *extra,
    ]  # fmt: skip


def test_training_reduces_the_loss_and_records_its_metrics(images, tmp_path):
    assert main(_argv(images, tmp_path, 12, "--lr", "1e-2", "--sigma", "25")) == 0
    losses = [float(line.split('"loss": ')[1].split(",")[0]) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    model = load_weights(tmp_path / "weights.pt", kind="prior", name="cnn")
    prov = model.provenance
    assert prov["steps"] == 12 and prov["metrics"]["validation"]["val_psnr_sigma25"] > 0
    assert set(prov["metrics"]["test"][images.name]) == {"15", "25", "50"}
    assert model(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)


def test_init_from_another_run(images, tmp_path):
    assert main(_argv(images, tmp_path / "a", 1, "--test")) == 0
    assert main(_argv(images, tmp_path / "b", 1, "--test", "--init", str(tmp_path / "a" / "weights.pt"), "--lr", "0")) == 0
    a = load_weights(tmp_path / "a" / "weights.pt")
    b = load_weights(tmp_path / "b" / "weights.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert b.provenance["init"]["provenance"]["steps"] == 1


def test_deq_train_priors_subcommand(registry, images, tmp_path):
    from deq.core.cli import main as deq_main

    assert deq_main(["train", "priors", *_argv(images, tmp_path, 1, "--test")]) == 0
    assert (tmp_path / "checkpoint.pt").is_file() and (tmp_path / "weights.pt").is_file()
