"""``deq reconstruct mismatch``: a user's own k-space or low-resolution image, through the ``deq`` command (one-line
errors, exit 2) and the function."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from deq.core import SolverNotConvergedWarning
from deq.core.registry import create
from deq.core.weights import make_provenance, save_weights
from deq.models.mismatch import cli


def tiny_prior(path, channels: int):
    config = {"in_channels": channels, "depth": 3, "width": 4, "batch_norm": False, "bias": True}
    prov = make_provenance(script="t", command="t", data="none", steps=0, seed=0, device="cpu", wall_seconds=0)
    return save_weights(create("prior", "dncnn", **config), path, kind="prior", name="dncnn", config=config, provenance=prov)


def test_mri_from_measured_kspace_and_a_mask_file(shared_data, tmp_path, capsys):
    image = shared_data("mri/ISTA_BrainImages_test/brain_test_01.png")
    from deq.core.images import read_image

    x = read_image(image, 1)[0].double()
    mask = (torch.rand(256, 256) < 0.3).float()
    mask[0, 0] = 1
    np.save(tmp_path / "mask.npy", mask.numpy())
    np.save(tmp_path / "k.npy", torch.fft.fft2(x, norm="ortho").numpy())  # fully sampled: the mask is applied
    prior = tiny_prior(tmp_path / "p.pt", 1)
    argv = ["mri", "--kspace", str(tmp_path / "k.npy"), "--mask", str(tmp_path / "mask.npy"), "--truth", str(image)]
    with pytest.warns(SolverNotConvergedWarning, match="max_iter 3"):  # 3 iterations: the user is told
        assert cli.main([*argv, "--prior", str(prior), "--tau", "0.1", "--iters", "3", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "PSNR start" in out and "tau 0.1" in out
    recon = np.load(tmp_path / "out" / "recon.npy")
    assert recon.shape == (1, 256, 256) and (tmp_path / "out" / "recon.png").is_file()


def test_sr_from_a_simulated_image_with_a_paper_kernel(shared_data, tmp_path, capsys):
    image = shared_data("natural/set3c/leaves.png")
    shared_data("kernels/kernels_12.mat")
    prior = tiny_prior(tmp_path / "p.pt", 3)
    argv = ["sr", "--image", str(image), "--kernel", "3", "--scale", "3", "--prior", str(prior), "--iters", "2"]
    with pytest.warns(SolverNotConvergedWarning, match="max_iter 2"):
        assert cli.main([*argv, "--output", str(tmp_path / "o")]) == 0
    assert np.load(tmp_path / "o" / "recon.npy").shape == (3, 255, 255)
    assert "reconstruction" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    np.save(tmp_path / "k.npy", np.zeros((8, 8), dtype=np.complex64))
    np.save(tmp_path / "m.npy", np.ones((16, 16), dtype=np.float32))
    cmd = [sys.executable, "-m", "deq.core.cli", "reconstruct", "mismatch", "mri", "--kspace", str(tmp_path / "k.npy")]
    cmd += ["--mask", str(tmp_path / "m.npy"), "--output", str(tmp_path / "o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2 and "expected a complex (H, W) array of the mask's shape (16, 16)" in proc.stderr
    assert "Traceback" not in proc.stderr
    with pytest.raises(Exception, match="not 'ar', a shipped prior"):
        cli.main(["sr", "--prior", "nope", "--output", str(tmp_path / "o")])
