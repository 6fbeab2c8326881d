"""``deq bench sci``'s time table: mean seconds over Drop and Runner and the speed-up over the published-FFDNet
PnP-GAP of the same run."""

from __future__ import annotations

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
