"""``deq bench hsi`` end to end on tiny models (one fold, one noise level): it writes its section and figures where
it is told."""

from __future__ import annotations

from deq.models.hsi.bench import PAPER, main

from .conftest import FOLD


def test_bench_writes_the_tables_and_figures(tiny_runs, tmp_path):
    out = tmp_path / "docs" / "benchmarks.md"
    methods = ["--methods", "batch-omp-sc", "hsi-cnn", "du-full-sc", "deq-full-sc", "du-fast-sc", "deq-fast-sc"]  # Lasso: minutes
    argv = ["--runs", str(tiny_runs), "--folds", FOLD, "--sigmas", "50", "--ks", "1,3", "--blocks", "10,20", *methods]
    argv += ["--out", str(out)]
    assert main(argv) == 0
    text = out.read_text()
    assert "<!-- bench:hsi -->" in text and "deq bench hsi --runs" in text and str(out) not in text
    assert f"{PAPER[50]['deq-fast-sc'][0]:.2f}" in text and "chosen factor" in text and "CNN alone" in text
    assert "k=3" in text and "n=20" in text
    assert (out.parent / "hsi_iterations.png").is_file() and (out.parent / "hsi_block_size.png").is_file()


def test_own_runs_of_a_level_are_found_beside_the_blind_ones(tmp_path):
    from deq.models.hsi.bench import Sources
    from deq.models.hsi.weights import LEVEL_WEIGHTS

    level = LEVEL_WEIGHTS[0]
    assert Sources(tmp_path).run_file(FOLD, "cnn", level) == tmp_path / FOLD / f"sigma{level}" / "cnn" / "weights.pt"
    assert Sources(tmp_path).run_file(FOLD, "deq-fast-sc", 70) == tmp_path / FOLD / "deq-fast-sc" / "weights.pt"
    assert Sources(tmp_path, blind=True).run_file(FOLD, "cnn", level) == tmp_path / FOLD / "cnn" / "weights.pt"
