"""The weights shipped in deq-models-sci: they load with ``weights_only=True`` through the registry, carry their
provenance, beat the initial estimate where they claim to, and DE-RNN's is contractive (Theorem 1-2)."""

from __future__ import annotations

import pytest
import torch

from deq.core.metrics import psnr
from deq.core.registry import create
from deq.models.sci.degap import DEGAP
from deq.models.sci.dernn import DERNN
from deq.models.sci.gap import initial_estimate
from deq.models.sci.synthetic import demo_scene
from deq.models.sci.weights import DEFAULT_WEIGHTS, DERNN_WEIGHTS
from deq.operators.sci import CACTI


@pytest.fixture(scope="module")
def scene():
    video, mask = demo_scene(48, frames=8, seed=2)
    op = CACTI(mask)
    return video, op, op(video)


@pytest.mark.parametrize("path", [DEFAULT_WEIGHTS, DERNN_WEIGHTS], ids=["de-gap", "de-rnn"])
def test_shipped_files_are_plain_tensors_with_provenance(path):
    blob = torch.load(path, weights_only=True)
    prov = blob["provenance"]
    assert set(blob) == {"config", "state_dict", "provenance"}
    assert prov["script"].startswith("python -m deq.models.sci.train") and prov["steps_done"] > 0
    assert prov["val_psnr"] > 0 and "held out for validation" in prov["data"]


def test_shipped_degap_beats_its_initial_estimate(scene):
    video, op, y = scene
    model = create("model", "de-gap", pretrained=True)
    assert isinstance(model, DEGAP) and not model.training
    x = model.reconstruct(y, op)
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(initial_estimate(op, y).clamp(0, 1), video)) + 2.0


def test_shipped_dernn_is_contractive_at_its_fixed_point(scene):
    video, op, y = scene
    model = create("model", "de-rnn", pretrained=True)
    assert isinstance(model, DERNN)
    x, info = model(y, op)
    assert bool(info.converged.all())
    assert float(model.lipschitz_at(x, y, op)["eta"]) < 1.0


@pytest.mark.parametrize("name", ["de-gap", "de-rnn"])
def test_weights_without_pretrained_is_an_error(name):
    with pytest.raises(ValueError, match="only read with pretrained=True"):
        create("model", name, pretrained=False, weights=str(DEFAULT_WEIGHTS))
