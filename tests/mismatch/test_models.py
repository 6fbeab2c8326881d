"""The registered factories ``sd-red`` / ``pnp-pgm``: options, the batch-norm policy (the map is one map during a
solve), the solver settings of the paper (Nesterov forward, Anderson backward), and weight files."""

from __future__ import annotations

import pytest
import torch

from deq.core.registry import create
from deq.core.solve_scope import solve_scope
from deq.core.weights import load_weights, make_provenance, save_weights
from deq.models.mismatch.models import MISMATCH_SOLVER, SDRED, PnPPGM, pnp_pgm_step, sd_red_step
from deq.operators.kernels import gaussian_kernel
from deq.operators.mri import CartesianMRI, radial_mask
from deq.operators.sr import SuperResolution

TINY = {"max_iter": 3, "eval_max_iter": 3, "backward_max_iter": 3, "warn_unconverged": False}


def mri_problem(size: int = 16, batch: int = 2):
    x = torch.rand(batch, 1, size, size)
    op = CartesianMRI(radial_mask((size, size), 0.3)).real_input()
    return x, op, op(x)


def provenance():
    return make_provenance(script="test", command="test", data="none", steps=0, seed=0, device="cpu", wall_seconds=0)


def test_defaults_are_the_papers_solvers_and_the_bn_free_denoisers():
    model = create("model", "sd-red")
    assert isinstance(model, SDRED)
    assert model.solver_config.solver == "nesterov" and model.solver_config.backward_solver == "anderson"
    assert model.solver_config.backward == "ift"
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    sr = create("model", "pnp-pgm", tau=4.0)
    assert isinstance(sr, PnPPGM) and sr.denoiser.in_channels == 3 and sr.map.multiple == 4
    assert sr.map.gamma == pytest.approx(pnp_pgm_step(4.0)) == pytest.approx(0.25)
    assert create("model", "sd-red", tau=2.0).map.gamma == pytest.approx(sd_red_step(2.0)) == pytest.approx(0.25)
    assert MISMATCH_SOLVER.to_dict()["solver"] == "nesterov"


def test_bad_option_combinations_are_errors_that_say_why():
    with pytest.raises(ValueError, match="only read with pretrained=True"):
        create("model", "sd-red", weights="x.pt")
    with pytest.raises(ValueError, match="fixed by the weight file"):
        create("model", "sd-red", pretrained=True, denoiser_options={"depth": 3})
    with pytest.raises(ValueError, match="a trained denoiser"):
        create("model", "sd-red", prior="mri-dncnn-awgn-5", denoiser="dncnn")
    with pytest.raises(ValueError, match="no shipped weights named"):
        create("model", "sd-red", prior="no-such-prior")


def test_batch_norm_is_frozen_during_a_solve_so_the_map_stays_one_map():
    """With a BN denoiser in training mode, a plain call normalises by the batch (the map would change with the
    other samples and the running statistics would move at every iteration); inside the solve the statistics are
    the running ones, so ``T`` of a sample does not depend on the batch, and a training forward leaves them."""
    x, op, y = mri_problem()
    model = create("model", "sd-red", denoiser_options={"depth": 3, "width": 4, "batch_norm": True}, solver=TINY).train()
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    before = (bn.running_mean.clone(), bn.running_var.clone())
    z = op.adjoint(y)
    with torch.no_grad():
        batched = model.map(z, y, op)
        alone = model.map(z[:1], y[:1], op)
        assert not torch.allclose(batched[:1], alone, atol=1e-5)  # train-mode BN outside a solve: not one map
        with solve_scope(model.map):
            batched = model.map(z, y, op)
            alone = model.map(z[:1], y[:1], op)
            again = model.map(z, y, op)
    assert torch.allclose(batched[:1], alone, atol=1e-6) and torch.equal(batched, again)
    bn.running_mean.copy_(before[0])
    bn.running_var.copy_(before[1])
    out, _ = model(y, op)
    out.square().mean().backward()
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert bn.training and bn.weight.grad is not None


def test_a_model_round_trips_through_a_weight_file_with_tau_and_solver_overrides(tmp_path):
    x, op, y = mri_problem()
    config = {"denoiser_options": {"depth": 3, "width": 4}, "tau": 0.3, "solver": TINY}
    model = create("model", "sd-red", **config).eval()
    path = save_weights(model, tmp_path / "ar.pt", kind="model", name="sd-red", config=config, provenance=provenance())
    loaded = create("model", "sd-red", pretrained=True, weights=str(path))
    assert torch.equal(loaded.reconstruct(y, op), model.reconstruct(y, op))
    retuned = create("model", "sd-red", pretrained=True, weights=str(path), tau=0.6, solver={"max_iter": 2})
    assert retuned.map.tau == 0.6 and retuned.map.gamma == pytest.approx(sd_red_step(0.6))
    assert retuned.solver_config.max_iter == 2 and retuned.solver_config.eval_max_iter == 3


def test_an_awgn_prior_file_plugs_into_both_models(tmp_path):
    net = create("prior", "unet", in_channels=1, base=4, levels=2)
    path = save_weights(
        net,
        tmp_path / "awgn.pt",
        kind="prior",
        name="unet",
        config={"in_channels": 1, "base": 4, "levels": 2},
        provenance=provenance(),
    )
    for name in ("sd-red", "pnp-pgm"):
        model = create("model", name, prior=str(path), solver=TINY)
        assert torch.equal(model.denoiser.head.weight, net.head.weight) and model.map.multiple == 2
    x = torch.rand(1, 1, 18, 18)
    op = SuperResolution(gaussian_kernel(5, 1.0), 3)
    assert create("model", "pnp-pgm", prior=str(path), solver=TINY).reconstruct(op(x), op).shape == x.shape


def test_a_file_of_the_other_model_or_of_a_prior_is_refused(tmp_path):
    from deq.core.errors import WeightsError

    model = create("model", "pnp-pgm", denoiser_options={"in_channels": 3, "base": 4, "levels": 2})
    config = {"denoiser_options": {"in_channels": 3, "base": 4, "levels": 2}}
    path = save_weights(model, tmp_path / "pgm.pt", kind="model", name="pnp-pgm", config=config, provenance=provenance())
    with pytest.raises(WeightsError, match="but name 'sd-red' was asked for"):
        create("model", "sd-red", pretrained=True, weights=str(path))
    with pytest.raises(WeightsError, match="but kind 'prior' was asked for"):
        create("model", "sd-red", prior=str(path))
    assert isinstance(load_weights(path), PnPPGM)
