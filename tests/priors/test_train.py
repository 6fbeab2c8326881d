"""Training recipe end to end on a tiny generated image folder: checkpoints, validation, resume equals
an uninterrupted run (determinism), DDP with two gloo processes keeps the replicas identical, and the
``deq train`` sub-command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deq.core.checkpoint import load_checked
from deq.priors.train import build_parser, main, train


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("imgs")
    yy, xx = np.mgrid[0:32, 0:32]
    for k in range(4):
        im = 127 + 100 * np.sin(xx / (3 + k)) * np.cos(yy / (4 + k))
        Image.fromarray(im.astype(np.uint8)).save(folder / f"im{k}.png")
    return folder


def _argv(images: Path, out: Path, epochs: int, *extra: str) -> list[str]:
    return [
        "--prior", "cnn", "--opt", "depth=2", "--opt", "width=4",
        "--train", str(images), "--val", str(images), "--patch", "16", "--batch", "8",
        "--patches-per-epoch", "16", "--epochs", str(epochs), "--out", str(out), "--seed", "3",
        "--no-progress", "--device", "cpu", *extra,
    ]  # fmt: skip


def test_train_resume_is_identical_to_uninterrupted(images, tmp_path):
    assert main(_argv(images, tmp_path / "a", 3)) == 0
    assert main(_argv(images, tmp_path / "b", 1)) == 0
    assert main(_argv(images, tmp_path / "b", 3)) == 0  # resumes from epoch 1
    a = load_checked(tmp_path / "a" / "checkpoint.pt")
    b = load_checked(tmp_path / "b" / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 3 and a["step"] == b["step"] == 6
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert [h["val_psnr"] for h in a["history"]] == [h["val_psnr"] for h in b["history"]]
    assert (tmp_path / "a" / "log.jsonl").read_text().count("\n") == 3


def test_training_reduces_the_loss(images, tmp_path):
    ck = train(build_parser().parse_args(_argv(images, tmp_path, 8, "--lr", "1e-2", "--sigma", "25")))
    losses = [h["loss"] for h in ck["history"]]
    assert losses[-1] < losses[0]


def test_ddp_two_gloo_processes_keep_replicas_identical(images, tmp_path):
    """``torchrun --nproc-per-node 2`` on CPU (gloo): both replicas end with the same weights, rank 0's
    checkpoint holds them, and the global batch is split (2 steps per epoch, not 4)."""
    argv = _argv(images, tmp_path / "run", 2, "--opt", "depth=3")
    worker = Path(__file__).with_name("ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    proc = subprocess.run([*cmd, str(worker), "--dump", str(tmp_path), *argv], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    ck = load_checked(tmp_path / "run" / "checkpoint.pt")
    assert ck["step"] == 2 * 2  # 16 patches per epoch / global batch 8 = 2 steps per epoch
    assert all(torch.equal(ck["model"][k], r0[k]) for k in r0)


def test_deq_train_subcommand(registry, images, tmp_path):
    from deq.core.cli import main as deq_main

    assert deq_main(["train", "priors", *_argv(images, tmp_path, 1)]) == 0
    assert (tmp_path / "checkpoint.pt").is_file()


def test_init_from_another_run(images, tmp_path):
    assert main(_argv(images, tmp_path / "a", 1)) == 0
    assert main(_argv(images, tmp_path / "b", 1, "--init", str(tmp_path / "a" / "checkpoint.pt"), "--lr", "0")) == 0
    a = load_checked(tmp_path / "a" / "checkpoint.pt")["model"]
    b = load_checked(tmp_path / "b" / "checkpoint.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
