from __future__ import annotations

import os

import pytest
import torch

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


def test_find_data_reports_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("DEQ_DATA", str(tmp_path))
    (tmp_path / "sci").mkdir()
    (tmp_path / "sci" / "x.mat").write_bytes(b"")
    assert find_data("sci/x.mat") == tmp_path / "sci" / "x.mat"
    with pytest.raises(DataNotFoundError, match=r"'sci/y.mat' not found.*DEQ_DATA"):
        find_data("sci/y.mat", data_dir=tmp_path)
