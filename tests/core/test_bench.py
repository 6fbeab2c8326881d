"""deq.core.bench's results-file helpers: sections written to the path the command is told, replaced in place."""

from __future__ import annotations

import pytest

from deq.core import bench
from deq.core.bench import command_line, results_file, write_section
from deq.core.errors import DeqError


def test_write_section_replaces_only_its_own_section(tmp_path):
    path = tmp_path / "docs" / "results.md"
    write_section("a", "## A\n\nfirst", path)
    write_section("b", "## B", path)
    write_section("a", "## A\n\nsecond", path)
    text = path.read_text()
    assert text.startswith("# Benchmarks") and "second" in text and "first" not in text
    assert text.index("<!-- bench:a -->") < text.index("<!-- bench:b -->")
    assert text.count("<!-- bench:a -->") == 1


def test_results_file_is_the_given_path_or_the_checkouts_docs(tmp_path, monkeypatch):
    assert results_file(tmp_path / "r.md") == tmp_path / "r.md"
    monkeypatch.setattr(bench, "find_checkout", lambda: tmp_path)
    assert results_file() == tmp_path / "docs" / "benchmarks.md"
    monkeypatch.setattr(bench, "find_checkout", lambda: None)
    with pytest.raises(DeqError, match="pass --out PATH"):
        results_file()


def test_command_line_leaves_out_where_the_results_went():
    argv = ["--repeats", "3", "--out", "/abs/docs/benchmarks.md", "--quick", "--out=x.md"]
    assert command_line("python benchmarks/core.py", argv) == "python benchmarks/core.py --repeats 3 --quick"


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    import torch

    from deq.core.plots import save_curves, save_image_grid

    line = save_curves(tmp_path / "a" / "c.png", {"m": ([1, 10, 100], [20.0, 25.0, 25.1])}, xlabel="K", title="t", log_x=True)
    grid = save_image_grid(tmp_path / "g.png", [[("x", torch.rand(1, 8, 8)), ("y", torch.rand(3, 8, 8))]], title="t")
    for path in (line, grid):
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    full = [[("x", torch.rand(1, 8, 8)), ("y", torch.rand(1, 8, 8))], [("a", torch.rand(1, 8, 8)), ("b", torch.rand(1, 8, 8))]]
    gap = [full[0], [("a", full[1][0][1]), ("b: no weights", None)]]  # a missing entry is an empty cell, not a shorter row
    from PIL import Image

    sizes = {Image.open(save_image_grid(tmp_path / f"{k}.png", rows)).size for k, rows in (("full", full), ("gap", gap))}
    assert len(sizes) == 1
