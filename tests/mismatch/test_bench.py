"""``deq bench mismatch`` on tiny settings: it writes its sections (command above each table, the paper's values
beside ours, the validation search, how far each prior was trained) and the figures to where it is told."""

from __future__ import annotations

import re

import pytest

from deq.models.mismatch import bench


def test_tau_ref_holds_tau_sigma_squared_fixed():
    assert bench.tau_ref("mri", 5 / 255) == pytest.approx(0.2)
    assert bench.tau_ref("mri", 10 / 255) == pytest.approx(0.05)
    assert bench.tau_ref("sr", 0.03) == pytest.approx(1.0)


def test_search_picks_the_noise_level_then_tau_on_the_validation_score():
    awgn = {2 / 255: "a2", 5 / 255: "a5"}
    scores = {("a2", 1.0): 30.0, ("a5", 1.0): 31.0, ("a5", 0.5): 31.5, ("a5", 2.0): 30.5}

    def score(s: bench.Setting) -> float:
        if s.prior is None:
            return {0.3: 32.0, 0.15: 33.0, 0.6: 31.0}[round(s.tau, 2)]
        return scores[(s.prior, round(s.tau / bench.tau_ref("mri", s.sigma), 2))]

    best_awgn, best_ar, tried = bench.search("mri", awgn, 0.3, score)
    assert (best_awgn.prior, round(best_awgn.tau / bench.tau_ref("mri", 5 / 255), 2)) == ("a5", 0.5)
    assert best_ar.prior is None and best_ar.tau == pytest.approx(0.15) and len(tried) == 7


@pytest.mark.parametrize("part", ["mri", "sr"])
def test_a_tiny_run_writes_its_section_and_figures(shared_data, tmp_path, part, capsys):
    needed = ("mri/ISTA_BrainImages_test", "mri/ISTA_masks/mask_10.mat", "natural/CBSD68", "natural/Set5")
    needed += ("kernels/kernels_12.mat",)
    for rel in needed:
        shared_data(rel)
    out = tmp_path / "results.md"
    argv = ["--part", part, "--iters", "1", "--mri-val-images", "1", "--sr-val-images", "1", "--sr-val-crop", "36"]
    argv += ["--sr-crop", "36", "--sr-images", "2", "--batch", "10", "--out", str(out)]
    assert bench.main(argv) == 0
    text = out.read_text()
    assert f"<!-- bench:mismatch-{part} -->" in text and f"`deq bench mismatch --part {part} --iters 1" in text
    assert str(tmp_path) not in text.split("How far")[0]  # the --out path is not part of the recorded command
    if part == "mri":
        assert "31.37" in text and "33.05" in text and "Fig. 3" in text and "brain_test_01-10" in text
        assert (tmp_path / "mismatch_mri.png").is_file() and (tmp_path / "mismatch_wrong_operator.png").is_file()
    else:
        assert "24.63" in text and "25.90" in text and "24.87 / 25.11" in text and "2 CBSD68 images" in text
        assert (tmp_path / "mismatch_sr.png").is_file()
    # how far each prior was trained: the fine-tuned AWGN priors and the AR prior name the shipped file they started from
    start = "mri-dncnn-awgn-5" if part == "mri" else "sr-unet-awgn-5"
    assert f"| fine-tuned from {start} |" in text and f"| from {start} |" in text
    assert re.search(r"val_max_residual \d\.\de-\d\d", text)  # not rounded to 0.00
