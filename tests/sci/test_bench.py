"""``deq bench sci``'s time table: mean seconds over Drop and Runner and the speed-up over the published-FFDNet
PnP-GAP of the same run."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("preset, grid", [(bench.FAST_DEGAP, bench.FAST_GRID), (bench.DERNN_START, bench.RNN_GRID)])
def test_each_inference_preset_is_the_last_setting_of_the_grid_it_was_chosen_from(preset, grid):
    solver = preset["solver"]
    assert (preset["warm_start"], solver.get("forward_autocast"), solver["tol"], solver["eval_max_iter"]) == grid[-1]
    assert set(preset) == {"warm_start", "solver"} and set(solver) <= {"forward_autocast", "tol", "eval_max_iter"}


@pytest.mark.parametrize(
    "preset, setting", [(bench.ACCEL_DEGAP, bench.ACCEL_GRID[2]), (bench.ACCEL_DERNN, bench.ACCEL_RNN_GRID[1])]
)
def test_the_accelerated_presets_are_the_settings_chosen_from_their_grids(preset, setting):
    # chosen by the sci-fast rule (docs/benchmarks.md, sci-accelerated): DE-GAP's third row, DE-RNN's second
    solver = preset["solver"]
    assert (preset["warm_start"], solver.get("forward_autocast"), solver["tol"], solver["eval_max_iter"]) == setting
    assert preset["accelerate"] is True


def test_the_time_capped_grid_compares_with_the_file_s_own_setting_and_keeps_every_capped_row_within_budget():
    solver = bench.ACCEL_DEGAP["solver"]
    assert bench.ACCEL_FAST_GRID[0] == (bench.ACCEL_DEGAP["warm_start"], None, solver["tol"], solver["eval_max_iter"])
    per_iteration, per_application = bench.ACCEL_FAST_COST
    for warm, autocast, _, cap in bench.ACCEL_FAST_GRID[1:]:
        assert autocast is None  # bfloat16 is emulated, and slower, on the CPU the costs were measured on
        assert warm * per_iteration + cap * per_application <= bench.ACCEL_FAST_BUDGET < 2.0


def test_the_preset_rows_are_named_from_the_presets():
    assert bench.FAST_LABEL == "de-gap (fast: GAP-TV start 30, bfloat16 solve, tol 0.005, <= 10 iterations)"
    assert bench.RNN_LABEL == "de-rnn (GAP-TV start 50, float32 solve, tol 0.001, <= 30 iterations)"
    assert bench.ACCEL_LABEL == "de-gap (accelerated GAP state, GAP-TV start 50, float32 solve, tol 0.001, <= 30 iterations)"
    assert bench.ACCEL_RNN_LABEL == "de-rnn (accelerated GAP state, GAP-TV start 50, float32 solve, tol 0.0001, <= 30 iterations)"
    other = {"warm_start": 20, "solver": {"tol": 3e-3, "eval_max_iter": 60}}
    assert bench.fast_label(other) == "de-gap (fast: GAP-TV start 20, float32 solve, tol 0.003, <= 60 iterations)"


def test_fast_settings_scores_each_setting_on_held_out_clips(shared_data):
    images = shared_data("natural/DnCNN_Train400")
    clips = bench.heldout_clips(str(images.parents[1]), clips=1, size=32)
    grid = ((0, None, 1e-3, 3), (5, "bfloat16", 5e-3, 3))
    tables = [bench.fast_settings(clips, None, name, grid) for name in ("de-gap", "de-rnn")]
    tables.append(bench.fast_settings(clips, None, "de-gap", grid, accelerate=True))
    for table in tables:
        rows = [[c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines()[2:]]
        assert [r[:4] for r in rows] == [["x^(0)", "float32", "0.001", "3"], ["GAP-TV 5", "bfloat16", "0.005", "3"]]
        for r in rows:  # per B: PSNR, applications of the map, motion recovered
            assert 5 < float(r[4]) < 60 and 1 <= float(r[5]) <= 3 and 0 <= float(r[6]) < 2
            assert 5 < float(r[7]) < 60 and 1 <= float(r[8]) <= 3 and 0 <= float(r[9]) < 2
    assert tables[0] != tables[2]  # the accelerated state is another map


def test_heldout_scores_every_method_on_held_out_clips_of_both_compression_ratios(shared_data):
    from deq.models.sci.models import GapTV

    images = shared_data("natural/DnCNN_Train400")
    clips = bench.heldout_clips(str(images.parents[1]), clips=2, size=32)
    table = bench.heldout({"gap-tv 1": GapTV(n_iter=1), "gap-tv 20": GapTV(n_iter=20)}, clips)
    rows = {line.split("|")[1].strip(): [float(c) for c in line.split("|")[2:-1]] for line in table.splitlines()[2:]}
    assert set(rows) == {"gap-tv 1", "gap-tv 20"}
    for psnr8, ssim8, motion8, _, psnr14, ssim14, motion14, _ in rows.values():
        assert 5 < psnr8 < 60 and 5 < psnr14 < 60 and 0 < ssim8 <= 1 and 0 < ssim14 <= 1
        assert 0 <= motion8 < 2 and 0 <= motion14 < 2
    assert rows["gap-tv 20"][0] > rows["gap-tv 1"][0]  # more GAP-TV iterations reconstruct better
    assert rows["gap-tv 20"][2] > rows["gap-tv 1"][2]  # and recover more motion (one step from x0 has none)
    video = clips[8][0][0]
    with pytest.raises(ValueError, match="static"):
        bench.motion_recovered(video, video.mean(dim=-3, keepdim=True).expand_as(video))


class _Known:
    """A stand-in reconstruction of the clips in the order ``heldout`` visits them: the ground truth, or its mean over
    frames (all motion lost)."""

    def __init__(self, clips: bench.Clips, static: bool):
        self.truth = iter([video for pairs in clips.values() for video, _ in pairs])
        self.static = static

    def reconstruct(self, y, op):
        video = next(self.truth)[None]
        assert video.shape[-3:] == op.in_shape[-3:]
        return video.mean(dim=-3, keepdim=True).expand_as(video) if self.static else video


def test_heldout_motion_is_the_spread_recovered_over_the_truth_s(shared_data):
    images = shared_data("natural/DnCNN_Train400")
    clips = bench.heldout_clips(str(images.parents[1]), clips=2, size=32)
    table = bench.heldout({"truth": _Known(clips, False), "static": _Known(clips, True)}, clips)
    rows = {line.split("|")[1].strip(): [float(c) for c in line.split("|")[2:-1]] for line in table.splitlines()[2:]}
    assert rows["truth"][2] == rows["truth"][6] == 1.0
    assert rows["static"][2] == rows["static"][6] == 0.0


def test_extra_degap_rows_are_named_by_their_denoiser_and_compared_with_the_matching_paper_row():
    from deq.core.registry import create

    ffdnet = create(
        "model", "de-gap", denoiser="ffdnet", denoiser_options={"depth": 3, "width": 8}, radius=0, denoiser_sigma=10 / 255
    )
    label = bench.degap_label(ffdnet, "/runs/x/weights.pt")
    assert label == "de-gap (FFDNet, radius 0, sigma 10/255: weights.pt)"
    assert bench.paper_row(label) == "DE-GAP-FFDnet"
    cnn = create("model", "de-gap")
    assert (
        bench.degap_label(cnn, "w.pt").startswith("de-gap (") and bench.paper_row(bench.degap_label(cnn, "w.pt")) == "DE-GAP-CNN"
    )
    assert bench.paper_row("gap-tv") == "GAP-TV" and bench.paper_row(bench.FAST_LABEL) == "DE-GAP-CNN"
    assert bench.paper_row(bench.ACCEL_RNN_LABEL) == "DE-RNN" and bench.PAPER["drop40"]["DE-RNN"] == (30.16, 0.909)


def test_extra_degap_rows_say_how_their_file_was_made(tmp_path):
    from deq.core.registry import create
    from deq.core.weights import make_provenance, save_weights

    config = {"denoiser": "ffdnet", "denoiser_options": {"depth": 3, "width": 8}, "radius": 0, "denoiser_sigma": 10 / 255}
    model = create("model", "de-gap", **config)
    first = make_provenance(
        script="s", command="deq train sci --steps 7", data="d", steps=7, seed=0, device="cpu", wall_seconds=1
    )
    prov = make_provenance(
        script="s",
        command="deq train sci --init a.pt --steps 3",
        data="d",
        steps=3,
        seed=0,
        device="cpu",
        wall_seconds=1,
        init={"weights": "a.pt", "config": config, "provenance": first},
    )
    path = save_weights(model, tmp_path / "weights.pt", kind="model", name="de-gap", config=config, provenance=prov)
    models, origins = bench.extra_degaps([str(path)])
    assert list(models) == ["de-gap (FFDNet, radius 0, sigma 10/255: weights.pt)"]
    assert origins == [
        "> `de-gap (FFDNet, radius 0, sigma 10/255: weights.pt)`, not shipped: made by `deq train sci --init a.pt --steps 3` "
        "(3 steps), started from a.pt, made by `deq train sci --steps 7` (7 steps)."
    ]


def test_the_chosen_plain_setting_is_the_cnn_file_within_the_time_budget():
    """ACCEL_PLAIN_GRID's first row (the choice made on held-out clips) is the CNN accelerated-state file, and its
    cost by the measured per-iteration costs fits the budget; every row starts from GAP-TV and applies the map."""
    from deq.models.sci.weights import ACCEL_WEIGHTS

    path, warm, k = bench.ACCEL_PLAIN_GRID[0]
    assert path == ACCEL_WEIGHTS
    assert warm * bench.ACCEL_FAST_COST[0] + k * bench.ACCEL_PLAIN_COST[path] <= bench.ACCEL_FAST_BUDGET
    assert all(w > 0 and n > 0 and p in bench.ACCEL_PLAIN_COST for p, w, n in bench.ACCEL_PLAIN_GRID)
