"""The weights shipped in deq-models-sci: they load with ``weights_only=True`` through the registry, carry their
provenance, and beat the initial estimate."""

from __future__ import annotations

import pytest
import torch

from deq.core.errors import WeightsError
from deq.core.metrics import psnr
from deq.core.registry import create
from deq.models.sci.degap import DEGAP
from deq.models.sci.dernn import DERNN
from deq.models.sci.gap import initial_estimate
from deq.models.sci.synthetic import demo_scene
from deq.models.sci.weights import SHIPPED
from deq.operators.sci import CACTI


@pytest.fixture(scope="module")
def scene():
    video, mask = demo_scene(48, frames=8, seed=2)
    op = CACTI(mask)
    return video, op, op(video)


def test_shipped_degap_keeps_the_provenance_of_every_phase():
    prov = torch.load(SHIPPED["de-gap"], weights_only=True)["provenance"]
    phases = []
    while prov is not None:
        phases.append(prov)
        prov = (prov.get("init") or {}).get("provenance")
    assert len(phases) >= 2 and all(p["steps"] > 0 and p["command"] for p in phases)


@pytest.mark.parametrize("name", ["de-gap", "de-rnn"])
def test_shipped_files_are_plain_tensors_with_provenance(name):
    blob = torch.load(SHIPPED[name], weights_only=True)
    prov = blob["provenance"]
    assert blob["format"] == "deq-weights/1" and (blob["kind"], blob["name"]) == ("model", name)
    assert all(k.startswith("map.") for k in blob["state_dict"])
    assert prov["command"].startswith(("deq train sci", "python -m deq.models.sci.train")) and prov["steps"] > 0
    assert prov["metrics"]["validation"]["val_psnr"] > 0 and "held out for validation" in prov["data"]


def test_shipped_degap_beats_its_initial_estimate(scene):
    video, op, y = scene
    model = create("model", "de-gap", pretrained=True)
    assert isinstance(model, DEGAP) and not model.training
    x = model.reconstruct(y, op)
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(initial_estimate(op, y).clamp(0, 1), video)) + 2.0


def test_shipped_dernn_converges_and_beats_its_initial_estimate(scene):
    """The shipped DE-RNN (``coeff`` 1.0: no contraction by construction) reaches its fixed point within the
    solver's limit and reconstructs better than its start; its Lipschitz constant there is measured by the
    bench (about 1.00), not claimed below one."""
    video, op, y = scene
    model = create("model", "de-rnn", pretrained=True)
    assert isinstance(model, DERNN)
    with torch.no_grad():
        x, info = model(y, op)
    assert bool(info.converged.all())
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(initial_estimate(op, y).clamp(0, 1), video)) + 2.0


@pytest.mark.parametrize("name", ["de-gap", "de-rnn"])
def test_weights_without_pretrained_is_an_error(name):
    with pytest.raises(ValueError, match="only read with pretrained=True"):
        create("model", name, pretrained=False, weights=str(SHIPPED["de-gap"]))


def test_a_file_of_another_model_is_refused():
    with pytest.raises(WeightsError, match="holds the weights of model 'de-rnn', but name 'de-gap' was asked for"):
        create("model", "de-gap", pretrained=True, weights=str(SHIPPED["de-rnn"]))


def test_architecture_options_with_pretrained_are_an_error_but_solver_overrides_apply():
    with pytest.raises(ValueError, match="fixed by the weight file"):
        create("model", "de-gap", pretrained=True, radius=2)
    model = create("model", "de-gap", pretrained=True, solver={"max_iter": 7, "eval_max_iter": 9})
    assert model.solver_config.max_iter == 7 and model.solver_config.eval_max_iter == 9


def test_warm_start_begins_at_gap_tv_and_shortens_the_solve(scene):
    """``warm_start=n``: the start is n GAP-TV iterations, the reconstruction stays as good as the default start's
    (the shipped map's equilibrium), and the solve needs fewer applications of the map; an invalid value is refused."""
    from deq.models.sci.models import GapTV

    video, op, y = scene
    cold = create("model", "de-gap", pretrained=True)
    warm = create("model", "de-gap", pretrained=True, warm_start=10)
    assert warm.warm_start == 10 and cold.warm_start == 0
    assert torch.equal(warm.initial(y, op), GapTV(n_iter=10).reconstruct(y, op))
    with torch.no_grad():
        (x_cold, i_cold), (x_warm, i_warm) = cold(y, op), warm(y, op)
    assert int(i_warm.nstep) < int(i_cold.nstep)
    assert float(psnr(x_warm.clamp(0, 1), video)) > float(psnr(x_cold.clamp(0, 1), video)) - 0.3
    with pytest.raises(ValueError, match="warm_start must be an integer >= 0"):
        create("model", "de-rnn", pretrained=True, warm_start=-2)


def test_shipped_accelerated_degap_continues_the_shipped_degap_and_fits_the_data(scene):
    from deq.models.sci.models import ACCEL_DEGAP
    from deq.models.sci.weights import ACCEL_WEIGHTS

    blob = torch.load(ACCEL_WEIGHTS, weights_only=True)
    parent = blob["provenance"]["init"]
    assert parent["sha256"] and parent["provenance"]["steps"] > 0 and "--accelerate" in blob["provenance"]["command"]
    model = create("model", "de-gap", pretrained=True, weights=str(ACCEL_WEIGHTS))
    config = model.solver_config
    assert model.accelerate and model.warm_start == ACCEL_DEGAP["warm_start"]  # the preset is the file's setting
    assert (config.tol, config.max_iter) == (ACCEL_DEGAP["solver"]["tol"], ACCEL_DEGAP["solver"]["eval_max_iter"])
    video, op, y = scene
    x = model.reconstruct(y, op)
    plain = create("model", "de-gap", pretrained=True).reconstruct(y, op)
    assert float((op(x) - y).norm() / y.norm()) < 0.5 * float((op(plain) - y).norm() / y.norm())
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(initial_estimate(op, y).clamp(0, 1), video)) + 3.0


def test_shipped_accelerated_ffdnet_degap_starts_from_the_own_ffdnet_and_fits_the_data(scene):
    from deq.core.weights import file_record
    from deq.models.sci.weights import ACCEL_FFDNET_WEIGHTS
    from deq.priors.ffdnet import FFDNet
    from deq.priors.weights import weight_path

    prov = torch.load(ACCEL_FFDNET_WEIGHTS, weights_only=True)["provenance"]
    assert prov["steps"] > 0 and "--accelerate" in prov["command"]
    assert prov["options"]["denoiser_weights"].endswith("ffdnet-gray.pt")  # deq-priors' own denoiser, not a published one
    # the denoiser it started from is the one deq-priors ships now (a retrained ffdnet-gray.pt fails this)
    (read,) = prov["phases"][0]["weight_files"]
    assert read["weights"].endswith("ffdnet-gray.pt") and read["sha256"] == file_record(weight_path("ffdnet-gray"))["sha256"]
    model = create("model", "de-gap", pretrained=True, weights=str(ACCEL_FFDNET_WEIGHTS))
    assert model.accelerate and isinstance(model.denoiser.denoiser, FFDNet)
    assert model.denoiser.sigma == pytest.approx(15 / 255)
    video, op, y = scene
    x = model.reconstruct(y, op)
    assert float((op(x) - y).norm() / y.norm()) < 0.05
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(initial_estimate(op, y).clamp(0, 1), video)) + 3.0
