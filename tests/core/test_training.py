"""deq-core's training harness on a tiny float64 DEQ recipe (tests/core/harness_recipe.py): a kill -9 in the
middle of a run followed by --resume ends with the weights of an uninterrupted run; two gloo processes keep
identical replicas equal to the one-process run with the same global batch; resume, budget and --init rules."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.errors import DeqError
from deq.core.weights import provenance_summary, read_weights

SCRIPT = Path(__file__).with_name("harness_recipe.py")


def _run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=timeout)


def _model(out: Path) -> dict[str, torch.Tensor]:
    return load_checked(out / "checkpoint.pt")["model"]


def _fit(tmp_path: Path, *argv: str) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from harness_recipe import TinyRecipe

        from deq.core.training import main_for

        main_for(TinyRecipe, list(argv), "tiny", "")
    finally:
        sys.path.remove(str(SCRIPT.parent))


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_weights(tmp_path):
    common = ["--steps", "12", "--ckpt-every", "1", "--log-every", "1", "--noise", "0.1", "--no-progress"]
    full = _run(*common, "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr[-3000:]

    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *common, "--sleep", "0.25", "--out", str(out)])
    log = out / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or log.read_text().count("\n") < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    stopped_at = int(load_checked(out / "checkpoint.pt")["step"])
    assert 0 < stopped_at < 12  # killed in the middle of the run
    resumed = _run(*common, "--sleep", "0.25", "--resume", "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _model(tmp_path / "full"), _model(out)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads(log.read_text().splitlines()[-1])["step"] == 12
    assert read_weights(out / "weights.pt")["provenance"]["steps"] == 12


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    one = _run("--steps", "3", "--no-progress", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr[-3000:]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(SCRIPT)]
    two = subprocess.run(
        [*cmd, "--steps", "3", "--no-progress", "--out", str(tmp_path / "two")], capture_output=True, text=True, timeout=600
    )
    assert two.returncode == 0, two.stderr[-4000:]
    a, b = _model(tmp_path / "one"), _model(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], rtol=1e-8, atol=1e-10) for k in a)
    prov = read_weights(tmp_path / "two" / "weights.pt")["provenance"]
    assert prov["processes"] == 2 and prov["batch"] == 4


def test_resume_rules(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(DeqError, match="no checkpoint to resume from"):
        _fit(tmp_path, "--steps", "2", "--resume", "--out", out, "--no-progress")
    _fit(tmp_path, "--steps", "2", "--out", out, "--no-progress")
    with pytest.raises(DeqError, match="exists: pass --resume"):
        _fit(tmp_path, "--steps", "4", "--out", out, "--no-progress")
    with pytest.raises(DeqError, match=r"other options \(\['lr'\]\)"):
        _fit(tmp_path, "--steps", "4", "--lr", "0.5", "--resume", "--out", out, "--no-progress")
    _fit(tmp_path, "--steps", "4", "--resume", "--out", out, "--no-progress")  # more steps may be asked for
    assert load_checked(tmp_path / "run" / "checkpoint.pt")["step"] == 4
    phases = read_weights(tmp_path / "run" / "weights.pt")["provenance"]["phases"]  # both sessions are on record
    assert [p["from_step"] for p in phases] == [0, 2]
    assert phases[0]["from_seconds"] == 0 and phases[1]["from_seconds"] >= 0
    assert "--steps 2" in phases[0]["command"] and "--steps 4 --resume" in phases[1]["command"]


def test_each_session_records_the_sha256_of_the_weight_files_it_read(tmp_path):
    start, out = tmp_path / "denoiser.pt", str(tmp_path / "run")
    start.write_bytes(b"first version")
    _fit(tmp_path, "--steps", "2", "--start-file", str(start), "--out", out, "--no-progress")
    start.write_bytes(b"second version")  # the same path, other bytes: the resumed session says so
    _fit(tmp_path, "--steps", "3", "--start-file", str(start), "--resume", "--out", out, "--no-progress")
    phases = read_weights(tmp_path / "run" / "weights.pt")["provenance"]["phases"]
    digests = [hashlib.sha256(b"first version").hexdigest(), hashlib.sha256(b"second version").hexdigest()]
    assert [p["weight_files"] for p in phases] == [[{"weights": str(start), "sha256": d}] for d in digests]
    _fit(tmp_path, "--steps", "1", "--out", str(tmp_path / "plain"), "--no-progress")  # no files read: no entry
    assert "weight_files" not in read_weights(tmp_path / "plain" / "weights.pt")["provenance"]["phases"][0]


def test_resume_of_a_run_started_before_the_recipe_gained_a_flag(tmp_path):
    """A flag absent from the checkpoint (added to the recipe since) counts as its default: the run resumes
    with the default and refuses another value."""
    out = str(tmp_path / "run")
    _fit(tmp_path, "--steps", "2", "--out", out, "--no-progress")
    ck = load_checked(tmp_path / "run" / "checkpoint.pt")
    del ck["run"]["options"]["noise"]  # as written by a version without --noise
    save_atomic(ck, tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(DeqError, match=r"other options \(\['noise'\]\)"):
        _fit(tmp_path, "--steps", "3", "--noise", "0.1", "--resume", "--out", out, "--no-progress")
    _fit(tmp_path, "--steps", "3", "--resume", "--out", out, "--no-progress")
    assert load_checked(tmp_path / "run" / "checkpoint.pt")["step"] == 3


def test_budget_stops_with_a_checkpoint_and_init_starts_a_new_phase(tmp_path):
    _fit(tmp_path, "--steps", "50", "--sleep", "0.05", "--minutes", "0.002", "--out", str(tmp_path / "a"), "--no-progress")
    ck = load_checked(tmp_path / "a" / "checkpoint.pt")
    assert 0 < ck["step"] < 50
    first = read_weights(tmp_path / "a" / "weights.pt")
    _fit(
        tmp_path,
        "--steps",
        "1",
        "--lr",
        "0",
        "--init",
        str(tmp_path / "a" / "weights.pt"),
        "--out",
        str(tmp_path / "b"),
        "--no-progress",
    )
    second = read_weights(tmp_path / "b" / "weights.pt")
    assert all(torch.equal(first["state_dict"][k], second["state_dict"][k]) for k in first["state_dict"])
    assert second["provenance"]["init"]["provenance"]["steps"] == ck["step"]
    digest = hashlib.sha256((tmp_path / "a" / "weights.pt").read_bytes()).hexdigest()
    assert second["provenance"]["init"]["sha256"] == digest  # the parent file is identified, not only named


def test_init_takes_the_architecture_flags_from_the_file_unless_given(tmp_path, capsys):
    _fit(tmp_path, "--steps", "2", "--width", "4", "--act", "sin", "--out", str(tmp_path / "a"), "--no-progress")
    first = read_weights(tmp_path / "a" / "weights.pt")
    init = ("--init", str(tmp_path / "a" / "weights.pt"))
    _fit(tmp_path, "--steps", "1", "--lr", "0", *init, "--out", str(tmp_path / "b"), "--no-progress")  # no --width
    assert "architecture flags taken from the file: {'width': 4, 'act': 'sin'}" in capsys.readouterr().out
    second = read_weights(tmp_path / "b" / "weights.pt")
    assert second["config"] == {"width": 4, "act": "sin"} and second["provenance"]["options"]["width"] == 4
    summary = provenance_summary(second["provenance"])  # this phase, then the one it started from
    assert summary.index("--steps 1 --lr 0") < summary.index(f"started from {init[1]}") < summary.index("--steps 2 --width 4")
    assert summary.endswith("(2 steps)")
    assert all(torch.equal(first["state_dict"][k], second["state_dict"][k]) for k in first["state_dict"])
    with pytest.raises(
        DeqError, match=r"does not fit.*holds model 'tiny' with config \{'width': 4, 'act': 'sin'\}.*\{'width': 6"
    ):
        _fit(tmp_path, "--steps", "1", *init, "--width", "6", "--out", str(tmp_path / "c"), "--no-progress")
    inherited = [line for line in capsys.readouterr().out.splitlines() if "taken from the file" in line]
    assert inherited == [f"--init {init[1]}: architecture flags taken from the file: {{'act': 'sin'}}"]  # not --width


def test_an_inherited_value_this_version_does_not_offer_stops_the_command_unless_the_flag_is_given(tmp_path):
    _fit(tmp_path, "--steps", "1", "--act", "sin", "--out", str(tmp_path / "a"), "--no-progress")
    blob = read_weights(tmp_path / "a" / "weights.pt")
    blob["provenance"]["options"]["act"] = "relu"  # as written by a version that offered --act relu
    save_atomic(blob, tmp_path / "old.pt")
    init = ("--init", str(tmp_path / "old.pt"))
    with pytest.raises(DeqError, match=r"--init .*old.pt: the file was trained with --act 'relu'.*give --act explicitly"):
        _fit(tmp_path, "--steps", "1", *init, "--out", str(tmp_path / "b"), "--no-progress")
    assert not (tmp_path / "b").exists()  # refused before anything was written
    _fit(tmp_path, "--steps", "1", "--lr", "0", *init, "--act", "sin", "--out", str(tmp_path / "c"), "--no-progress")
    assert read_weights(tmp_path / "c" / "weights.pt")["config"] == {"width": 6, "act": "sin"}


def test_explicit_flags_are_told_apart_from_defaults_even_for_append_actions():
    import argparse

    from deq.core.training import _given_explicitly

    parser = argparse.ArgumentParser()
    parser.add_argument("--opt", action="append", default=[])
    parser.add_argument("--width", type=int, default=6)
    parser.add_argument("--flag", action="store_true")
    dests = ["opt", "width", "flag"]
    assert _given_explicitly(parser, [], dests) == set()
    assert _given_explicitly(parser, ["--opt", "a=1", "--width=6"], dests) == {"opt", "width"}  # even the default value
    assert _given_explicitly(parser, ["--flag"], dests) == {"flag"}
    assert parser.parse_args([]).opt == [] and parser.get_default("width") == 6  # the defaults are restored


def test_an_inherited_value_outside_the_flags_choices_is_an_error_that_names_it():
    import argparse

    from deq.core.training import _check_choices

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=("a", "b"), default="a")
    _check_choices(parser, {"model": "b"}, "w.pt")
    with pytest.raises(DeqError, match=r"--init w.pt: the file was trained with --model 'c'.*choices a, b.*--model explicitly"):
        _check_choices(parser, {"model": "c"}, "w.pt")
    parser.add_argument("--opt", action="append", choices=("x", "y"), default=[])
    _check_choices(parser, {"opt": ["x", "y"]}, "w.pt")  # a list is checked element by element
    with pytest.raises(DeqError, match=r"'z' not among the choices x, y"):
        _check_choices(parser, {"opt": ["x", "z"]}, "w.pt")


def test_option_defaults_are_the_parsed_defaults_of_every_kind_of_flag():
    import argparse

    from deq.core.training import Recipe

    class Flags(Recipe):  # only the flags: option_defaults never builds the recipe
        @classmethod
        def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--on", action="store_true")
            parser.add_argument("--opt", action="append", default=[])
            parser.add_argument("--rate", type=float, default="0.5")  # argparse converts a string default
            parser.add_argument("--quiet", default=argparse.SUPPRESS)

    assert Flags.option_defaults() == {"on": False, "opt": [], "rate": 0.5}
