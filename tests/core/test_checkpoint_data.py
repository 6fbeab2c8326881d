from __future__ import annotations

import os

import pytest
import torch

from deq.core import data
from deq.core.checkpoint import WeightsError, load_checked, save_atomic
from deq.core.data import DataNotFoundError, find_data


def test_atomic_save_roundtrip_and_no_temp_left(tmp_path):
    path = save_atomic({"w": torch.arange(3), "epoch": 2}, tmp_path / "sub" / "ckpt.pt")
    assert load_checked(path)["epoch"] == 2
    assert os.listdir(path.parent) == ["ckpt.pt"]


def test_failed_save_keeps_previous_file(tmp_path):
    path = save_atomic({"v": 1}, tmp_path / "c.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        save_atomic({"v": Unpicklable()}, path)
    assert load_checked(path)["v"] == 1
    assert os.listdir(tmp_path) == ["c.pt"]


def test_missing_and_corrupted_weights_name_the_file(tmp_path):
    with pytest.raises(WeightsError, match=r"nope\.pt' does not exist.*retrain"):
        load_checked(tmp_path / "nope.pt", how_to_obtain="retrain with X")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="bad.pt' could not be read"):
        load_checked(bad)


class Custom:
    """A class weights_only loading must refuse to instantiate."""


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    torch.save({"obj": Custom()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError):
        load_checked(tmp_path / "evil.pt")


def _fake_checkout(root, monkeypatch):
    """A checkout layout under ``root`` with deq-core's data module inside it (as an editable install has it)."""
    module = root / "packages" / "deq-core" / "src" / "deq" / "core" / "data.py"
    module.parent.mkdir(parents=True)
    (root / "noxfile.py").write_text("")
    monkeypatch.setattr(data, "__file__", str(module))
    return root


def test_find_checkout_walks_up_to_packages_and_noxfile(tmp_path, monkeypatch):
    checkout = _fake_checkout(tmp_path / "deq", monkeypatch)
    assert data.find_checkout() == checkout.resolve()
    (checkout / "noxfile.py").unlink()
    assert data.find_checkout() is None


def test_data_is_found_beside_the_checkout_from_any_directory(tmp_path, monkeypatch):
    checkout = _fake_checkout(tmp_path / "deq", monkeypatch)
    shared = tmp_path / "shared" / "data"
    (shared / "sci").mkdir(parents=True)
    (shared / "sci" / "x.mat").write_bytes(b"")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DEQ_DATA", raising=False)
    assert find_data("sci/x.mat") == checkout.resolve().parent / "shared" / "data" / "sci" / "x.mat"


def test_search_order_and_error_listing_every_place(tmp_path, monkeypatch):
    checkout = _fake_checkout(tmp_path / "deq", monkeypatch)
    env = tmp_path / "env"
    monkeypatch.setenv("DEQ_DATA", str(env))
    cwd = tmp_path / "work" / "here"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    expected = [env, checkout.resolve().parent / "shared" / "data", cwd / "shared" / "data", cwd.parent / "shared" / "data"]
    assert [r.resolve() for r in data.data_roots()] == [r.resolve() for r in expected]
    with pytest.raises(DataNotFoundError) as info:
        find_data("sci/y.mat")
    message = str(info.value)
    assert "'sci/y.mat' not found" in message and all(str(r) in message for r in expected)
    (env / "sci").mkdir(parents=True)
    (env / "sci" / "y.mat").write_bytes(b"")
    (cwd / "shared" / "data" / "sci").mkdir(parents=True)
    (cwd / "shared" / "data" / "sci" / "y.mat").write_bytes(b"")
    assert find_data("sci/y.mat") == env / "sci" / "y.mat"  # DEQ_DATA before the fallbacks


def test_an_explicit_data_dir_is_the_only_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("DEQ_DATA", str(tmp_path))
    (tmp_path / "sci").mkdir()
    (tmp_path / "sci" / "x.mat").write_bytes(b"")
    assert find_data("sci/x.mat") == tmp_path / "sci" / "x.mat"
    given = tmp_path / "given"
    assert data.data_roots(given) == [given]
    with pytest.raises(DataNotFoundError, match=r"'sci/x.mat' not found \(searched: [^,]*given\)"):
        find_data("sci/x.mat", data_dir=given)
