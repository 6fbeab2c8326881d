"""A tiny trained pipeline of one fold (K-SVD dictionary, CNN pretraining, the four models end to end, one step
each), shared by the recipe, CLI and benchmark tests."""

from __future__ import annotations

import json

import pytest

FOLD = "hydice-urban"
TINY_PRIOR = json.dumps({"depth": 2, "width": 4})
TINY_E2E = ["--block", "10", "--batch", "1", "--max-iter", "3", "--no-progress", "--prior-options", TINY_PRIOR]


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """``RUNS/hydice-urban/{dict,cnn,du-full-sc,deq-full-sc,du-fast-sc,deq-fast-sc}/weights.pt``; skips without the data."""
    from deq.core.data import DataNotFoundError, find_data
    from deq.models.hsi.dictionary import main as dictionary_main
    from deq.models.hsi.train import main as train_main

    try:
        find_data("hsi/HYDICE_data.mat")
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")
    runs = tmp_path_factory.mktemp("hsi-runs")
    fold = runs / FOLD
    dict_args = ["--held-out", FOLD, "--atoms", "40", "--signals", "200", "--iterations", "2", "--out", str(fold / "dict")]
    assert dictionary_main(dict_args) == 0
    cnn = ["--model", "hsi-cnn", "--held-out", FOLD, "--steps", "2", "--batch", "2", "--out", str(fold / "cnn")]
    assert train_main([*cnn, "--block", "10", "--no-progress", "--prior-options", TINY_PRIOR]) == 0
    sources = ["--dictionary", str(fold / "dict" / "weights.pt"), "--prior-weights", str(fold / "cnn" / "weights.pt")]
    for name in ("du-full-sc", "deq-full-sc", "du-fast-sc", "deq-fast-sc"):
        support = ["--support", "0"] if name == "deq-fast-sc" else ["--support", "4"]
        argv = ["--model", name, "--held-out", FOLD, *sources, *TINY_E2E, *support, "--steps", "1", "--out", str(fold / name)]
        assert train_main(argv) == 0
    return runs
