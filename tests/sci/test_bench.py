"""``deq bench sci``'s time table: mean seconds over Drop and Runner and the speed-up over the published-FFDNet
PnP-GAP of the same run."""

from __future__ import annotations

from deq.models.sci import bench
from deq.models.sci.bench import timing


def test_timing_averages_the_two_scenes_and_gives_the_speed_up_over_the_published_pnp():
    pnp = "pnp-gap (ffdnet-ipol: net_gray.pth)"
    results = {
        "drop40": {"gap-tv": {"seconds": 1.0}, pnp: {"seconds": 40.0}, "de-gap (fast)": {"seconds": 2.0}},
        "runner40": {"gap-tv": {"seconds": 3.0}, pnp: {"seconds": 48.0}, "de-gap (fast)": {"seconds": 2.0}},
    }
    lines = timing(results, 2).splitlines()[2:]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines}
    assert rows["gap-tv"] == ["2.00", "22.0x", "4.2 (GPU)"]
    assert rows["de-gap (fast)"] == ["2.00", "22.0x", "1.90 (GPU)"]
    assert rows[pnp][:2] == ["44.00", "1.0x"]
    without = timing({s: {"gap-tv": r["gap-tv"]} for s, r in results.items()}, 2)
    assert "not run" in without and "| - |" in without


def test_the_fast_preset_is_the_last_setting_of_the_grid_it_was_chosen_from():
    warm, autocast, tol, iters = bench.FAST_GRID[-1]
    assert bench.FAST_DEGAP == {"warm_start": warm, "solver": {"forward_autocast": autocast, "tol": tol, "eval_max_iter": iters}}


def test_the_fast_row_is_named_from_the_preset():
    assert bench.FAST_LABEL == "de-gap (fast: GAP-TV start 30, bfloat16 solve, tol 0.005, <= 10 iterations)"
    other = {"warm_start": 20, "solver": {"tol": 3e-3, "eval_max_iter": 60}}
    assert bench.fast_label(other) == "de-gap (fast: GAP-TV start 20, float32 solve, tol 0.003, <= 60 iterations)"


def test_fast_settings_scores_each_setting_on_held_out_clips(shared_data, monkeypatch):
    images = shared_data("natural/DnCNN_Train400")
    monkeypatch.setattr(bench, "FAST_GRID", ((0, None, 1e-3, 3), (5, "bfloat16", 5e-3, 3)))
    table = bench.fast_settings(None, str(images.parents[1]), clips=1, size=32)
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines()[2:]]
    assert [r[:4] for r in rows] == [["x^(0)", "float32", "0.001", "3"], ["GAP-TV 5", "bfloat16", "0.005", "3"]]
    for r in rows:
        assert 5 < float(r[4]) < 60 and 1 <= float(r[5]) <= 3 and 5 < float(r[6]) < 60 and 1 <= float(r[7]) <= 3
