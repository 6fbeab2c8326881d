"""Properties of every registered model, driven by the ``ModelCase`` list (tests/integration/model_cases.py):
reconstruct returns the right shape, gradients of a training forward reach every parameter, an unknown option
is an error, and learned weights round-trip through deq's weights format with ``weights_only``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from deq.core.registry import components, create
from deq.core.weights import load_weights, make_provenance, save_weights

sys.path.insert(0, str(Path(__file__).parent))
from model_cases import CASES  # noqa: E402

IDS = [c.id for c in CASES]


def test_every_registered_model_has_a_case():
    assert {c.name for c in components("model")} <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reconstruct_shape(case):
    y, op, shape = case.problem()
    model = create("model", case.name, **case.options)
    x = model.reconstruct(y.to(case.dtype), op)
    assert tuple(x.shape) == shape and torch.isfinite(x).all() and not x.requires_grad


@pytest.mark.parametrize("case", [c for c in CASES if c.learned], ids=[c.id for c in CASES if c.learned])
def test_gradients_reach_every_parameter(case):
    y, op, _ = case.problem()
    model = create("model", case.name, **case.options).train()
    x, _ = model(y.to(case.dtype), op)
    x.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]
    assert not missing, f"no (finite) gradient for {missing}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_options_raise(case):
    with pytest.raises(TypeError):
        create("model", case.name, **case.options, no_such_option=1)


@pytest.mark.parametrize("case", [c for c in CASES if c.learned], ids=[c.id for c in CASES if c.learned])
def test_weights_round_trip_with_weights_only(case, tmp_path):
    y, op, _ = case.problem()
    model = create("model", case.name, **case.options).eval()
    ref = model.reconstruct(y, op)  # fixes lazily estimated buffers (spectral-norm constants) before saving
    prov = make_provenance(script="test", command="test", data="none", steps=0, seed=0, device="cpu", wall_seconds=0)
    path = save_weights(model, tmp_path / "w.pt", kind="model", name=case.name, config=case.options, provenance=prov)
    torch.load(path, weights_only=True)
    loaded = load_weights(path, kind="model", name=case.name)
    assert torch.equal(loaded.reconstruct(y, op), ref) and loaded.weights_config == case.options
