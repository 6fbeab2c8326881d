"""``deq reconstruct hsi`` on a user's own .mat cube, and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from deq.core.errors import DataError
from deq.models.hsi.cli import main

from .conftest import FOLD


@pytest.fixture
def user_cube(tmp_path):
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.uniform(0, 1, (24, 20, 45)), axis=2)  # 45 bands, smooth spectra
    path = tmp_path / "cube.mat"
    scipy.io.savemat(path, {"radiance": smooth.astype(np.float32), "note": np.zeros((2, 2))})
    return path


def test_denoises_a_users_cube_and_writes_mat_and_png(tiny_runs, user_cube, tmp_path, capsys):
    out = tmp_path / "out"
    weights = str(tiny_runs / FOLD / "du-fast-sc" / "weights.pt")
    argv = ["--input", str(user_cube), "--output", str(out), "--method", "du-fast-sc", "--weights", weights, "--add-noise", "50"]
    assert main([*argv, "--block", "8"]) == 0
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "SAM" in printed and "24 x 20 x 31 cube" in printed
    saved = scipy.io.loadmat(out / "denoised.mat")
    assert saved["denoised"].shape == (24, 20, 31) and saved["scale"].item() > 0 and (out / "denoised.png").is_file()


def test_baselines_take_the_noise_level(tiny_runs, user_cube, tmp_path, capsys):
    dictionary = str(tiny_runs / FOLD / "dict" / "weights.pt")
    argv = ["--input", str(user_cube), "--output", str(tmp_path / "o"), "--method", "batch-omp-sc", "--weights", dictionary]
    with pytest.raises(ValueError, match="needs the noise level"):
        main(argv)
    assert main([*argv, "--sigma", "30"]) == 0


def test_input_errors_are_clear(user_cube, tmp_path):
    with pytest.raises(DataError, match="no key 'data'"):
        main(["--input", str(user_cube), "--key", "data", "--output", str(tmp_path)])
    with pytest.raises(DataError, match="--no-prepare needs a cube of 31 bands"):
        main(["--input", str(user_cube), "--no-prepare", "--output", str(tmp_path)])
    flat = tmp_path / "flat.mat"
    scipy.io.savemat(flat, {"a": np.zeros((4, 4, 40)), "b": np.zeros((4, 4, 40))})
    with pytest.raises(DataError, match="holds 2 3-D arrays"):
        main(["--input", str(flat), "--output", str(tmp_path)])


def test_cli_prints_one_line_errors(tmp_path):
    cmd = [sys.executable, "-m", "deq.core.cli", "reconstruct", "hsi", "--input", str(tmp_path / "none.mat"), "--output", "o"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_the_noise_level_chooses_the_shipped_weights_of_the_learned_models(tiny_runs):
    from deq.models.hsi.cli import build_model
    from deq.models.hsi.weights import LEVEL_WEIGHTS, shipped

    level = LEVEL_WEIGHTS[0]
    assert build_model("deq-fast-sc", sigma=level).weights_path == str(shipped("deq-fast-sc", sigma=level))
    assert build_model("deq-fast-sc", sigma=70).weights_path == str(shipped("deq-fast-sc"))
    own = str(tiny_runs / FOLD / "deq-fast-sc" / "weights.pt")
    assert build_model("deq-fast-sc", own, sigma=level).weights_path == own  # a user's file is used as it is
