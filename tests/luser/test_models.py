"""deq-models-luser's models: LUSER Table 3 parameter counts, the stage structure of LU-DnCNN / LUSER-SW / LUSER-DW,
DEQ4IP's fixed point, the implicit gradients against finite differences, the maps fixed during one solve (Miyato
spectral norm, batch norm) and the clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deq.core.registry import create
from deq.models.luser.tasks import get_task
from deq.operators.simple import Denoising

#: LUSER Table 3 (#Params): task -> model -> count
TABLE3 = {
    "ct": {"lu-dncnn": 556_033, "deq4ip": 556_033, "luser-sw": 93_954, "luser-dw": 751_625},
    "mri4x": {"lu-dncnn": 557_185, "deq4ip": 557_185, "luser-sw": 95_107, "luser-dw": 760_849},
    "deblur": {"lu-dncnn": 558_580, "deq4ip": 558_580, "luser-sw": 96_503, "luser-dw": 770_073},
}
QUICK = {"max_iter": 6, "tol": 1e-3, "backward_max_iter": 6, "warn_unconverged": False}


@pytest.mark.parametrize("task", sorted(TABLE3))
@pytest.mark.parametrize("name", ["lu-dncnn", "deq4ip", "luser-sw", "luser-dw"])
def test_parameter_counts_are_luser_table3(task, name):
    model = create("model", name, task=task)
    assert sum(p.numel() for p in model.parameters()) == TABLE3[task][name]


def test_the_counts_decompose_as_network_step_size_and_kernel():
    """Deblurring: 243 = 3 x 9 x 9 kernel parameters for LU-DnCNN, DEQ4IP and LUSER-SW, none for LUSER-DW; and
    without the kernel every model is its network plus one step size."""
    for name, kernel in (("lu-dncnn", True), ("deq4ip", True), ("luser-sw", True), ("luser-dw", False)):
        model = create("model", name, task="deblur")
        assert (model.step.blur is not None) == kernel
        plain = create("model", name, task="deblur", learned_kernel=False)
        diff = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters())
        assert diff == (243 if kernel else 0)
        net = sum(p.numel() for n, p in plain.named_parameters() if "step" not in n)
        assert sum(p.numel() for p in plain.parameters()) == net + 1


def test_stage_structure():
    sw, dw = create("model", "luser-sw", task="ct"), create("model", "luser-dw", task="ct")
    lu = create("model", "lu-dncnn", task="ct")
    assert sw.shared and len(sw.prox) == 1 and sw.stages == 8
    assert not dw.shared and len(dw.prox) == 8 and len({id(b) for b in dw.prox}) == 8
    assert lu.shared and type(lu.prox[0]).__name__ == "DnCNN" and len([m for m in lu.modules() if isinstance(m, nn.Conv2d)]) == 17
    assert all(type(b).__name__ == "ShallowEquilibrium" for b in dw.prox)


def test_every_conv_of_deq4ip_and_luser_is_spectrally_normalised_and_lu_dncnn_is_not():
    for name, expected in (("deq4ip", True), ("luser-sw", True), ("luser-dw", True), ("lu-dncnn", False)):
        convs = [m for m in create("model", name, task="ct").modules() if isinstance(m, nn.Conv2d)]
        assert convs and all(nn.utils.parametrize.is_parametrized(c, "weight") == expected for c in convs), name


def _denoising_problem(channels: int = 1, size: int = 8, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, channels, size, size, generator=g, dtype=dtype)
    op = Denoising()
    return op(x) + 0.05 * torch.randn(x.shape, generator=g, dtype=dtype), op, x


def test_untrained_models_start_as_landweber_steps():
    """The identity start (LU-DnCNN: zero last conv; LUSER: zero last GroupNorm weight) makes every prox the
    identity: an untrained LU model is K Landweber steps x_{k+1} = x_k + lambda A^T (y - A x_k)."""
    task = get_task("ct")
    x = torch.rand(1, 1, 16, 16)
    op = task.operator(16)
    y = task.measure(x, op, torch.Generator().manual_seed(0))
    ref = op.adjoint(y)
    for _ in range(8):
        ref = ref + op.adjoint(y - op(ref))
    for name in ("lu-dncnn", "luser-sw", "luser-dw"):
        out = create("model", name, task="ct").reconstruct(y, op)
        assert torch.allclose(out, ref, atol=1e-5), name


@pytest.mark.parametrize("name", ["lu-dncnn", "deq4ip"])
def test_the_dncnn_trains_from_its_start(name):
    """Every DnCNN layer gets gradient: LU-DnCNN once its zero last conv has moved, DEQ4IP from its small last
    batch-norm gain at once (a zero batch-norm weight before the last ReLU would freeze the whole network:
    ReLU's gradient at 0 is 0)."""
    task = get_task("ct")
    model = create("model", name, task="ct").train()
    x = torch.rand(2, 1, 16, 16)
    op = task.operator(16)
    y = task.measure(x, op, torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.mse_loss(model(y, op)[0], x).backward()
        opt.step()
    params = [(n, p) for n, p in model.named_parameters() if "prox" in n or "denoiser" in n]
    dead = [n for n, p in params if p.grad is None or not p.grad.abs().sum() > 0]
    assert len(params) > 30 and not dead, dead


def test_unrolled_returns_every_stage_and_inner_iterations():
    y, op, x = _denoising_problem(dtype=torch.float32)
    model = create("model", "luser-dw", task="ct", stages=3, solver=QUICK)
    outs, info = model(y, op, return_all=True)
    assert len(outs) == 3 and all(o.shape == x.shape for o in outs)
    assert info.inner_iterations.shape == (3, 2) and info.inner_converged.shape == (3, 2)
    last, _ = model(y, op)
    assert torch.allclose(last, outs[-1])


def _contractive(model: nn.Module, gain: float = 0.1) -> nn.Module:
    """Give every prox a small non-zero residual (the last normalisation's gain), so the maps are non-trivial and
    the fixed points exist (a random block at gain 1 need not contract)."""
    for net in [m for m in model.modules() if type(m).__name__ in ("DnCNN", "ShallowEquilibrium")]:
        norms = [m for m in net.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
        with torch.no_grad():
            norms[-1].weight.fill_(gain)
    return model


def test_deq4ip_reaches_its_fixed_point():
    y, op, _ = _denoising_problem()
    model = _contractive(create("model", "deq4ip", task="ct", solver={"tol": 1e-10, "max_iter": 100})).double()
    with torch.no_grad():
        model.step.step_size.fill_(0.5)
    model.eval()
    x, info = model(y, op)
    assert bool(info.converged.all())
    assert torch.allclose(model.map(x, y, op), x, atol=1e-8)


def _unrolled_reference(model: nn.Module, y: torch.Tensor, op, n_iter: int) -> torch.Tensor:
    """The same reconstruction with every equilibrium solve replaced by ``n_iter`` plain iterations differentiated
    by autograd (DEQ4IP: the map; LUSER: each block's inner map ``r -> Mix(Data(r) (+) Inj(d))`` from ``r = 0``)."""
    from deq.core.solve_scope import solve_scope

    if type(model).__name__ == "DEQ4IP":
        return model.iterate(y, op, n_iter)
    x = model.step.initial(y, op)
    for k in range(model.stages):
        block = model.prox[0 if model.shared else k]
        d = model.step(x, y, op)
        with solve_scope(block):
            u = block.injection(d)
            r = torch.zeros_like(d)
            for _ in range(n_iter):
                r = block._map(r, u)
        x = d + r
    return x


@pytest.mark.parametrize("name", ["deq4ip", "luser-dw"])
def test_implicit_gradients_match_the_unrolled_reference_and_finite_differences(name):
    """The gradients of every parameter by the implicit backward (DEQ4IP's solve, or each LUSER block's inner solve)
    equal those of the converged solves unrolled and differentiated by autograd (float64, tight tolerances); the
    step size's also equals central finite differences."""
    y, op, x = _denoising_problem(size=6)
    y, x = y[:1], x[:1]
    tight = {"tol": 1e-12, "max_iter": 100, "backward_tol": 1e-12, "backward_max_iter": 100}
    opts = {"task": "ct", "solver": tight} if name == "deq4ip" else {"task": "ct", "stages": 2, "solver": tight}
    model = _contractive(create("model", name, **opts), gain=0.02).double().eval()
    with torch.no_grad():
        model.step.step_size.fill_(0.9)  # x + 0.9 (y - x): the data step contracts by 0.1

    def loss(out: torch.Tensor) -> torch.Tensor:
        return (out - x).square().sum()

    params = [p for p in model.parameters() if p.requires_grad]
    implicit = torch.autograd.grad(loss(model(y, op)[0]), params, allow_unused=True)
    reference = torch.autograd.grad(loss(_unrolled_reference(model, y, op, 40)), params, allow_unused=True)
    for p, a, b in zip(params, implicit, reference):
        a = torch.zeros_like(p) if a is None else a
        b = torch.zeros_like(p) if b is None else b
        assert float((a - b).norm()) <= 1e-7 * float(b.norm()) + 1e-12
    assert float(torch.cat([g.flatten() for g in reference if g is not None]).norm()) > 0
    step = model.step.step_size
    eps = 1e-5
    with torch.no_grad():
        step.add_(eps)
        up = float(loss(model(y, op)[0]))
        step.sub_(2 * eps)
        down = float(loss(model(y, op)[0]))
        step.add_(eps)
    fd = (up - down) / (2 * eps)
    analytic = float(implicit[params.index(step)])
    assert abs(analytic - fd) <= 1e-3 * abs(fd), (analytic, fd)


def test_deq4ip_map_is_one_map_during_a_solve():
    """Training mode: batch norm runs on its running statistics (not the batch's) and leaves them unchanged, and the
    Miyato-normalised weights are the same tensor at every solver iteration."""
    y, op, _ = _denoising_problem(dtype=torch.float32)
    model = _contractive(create("model", "deq4ip", task="ct", solver=QUICK)).train()
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)][0]
    conv = [m for m in model.modules() if isinstance(m, nn.Conv2d)][3]
    running = bn.running_mean.clone()
    weights, bn_training = [], []
    hooks = [
        conv.register_forward_pre_hook(lambda m, _: weights.append(m.weight)),
        bn.register_forward_pre_hook(lambda m, _: bn_training.append(m.training)),
    ]
    try:
        x, info = model(y, op)
    finally:
        for h in hooks:
            h.remove()
    assert len(weights) >= int(info.nstep.max()) and all(w is weights[0] for w in weights)
    assert not any(bn_training) and torch.equal(bn.running_mean, running)
    assert model.training and bn.training  # restored after the solve


def test_luser_blocks_are_fixed_during_their_solves_and_lu_dncnn_uses_frozen_statistics():
    y, op, _ = _denoising_problem(dtype=torch.float32)
    luser = _contractive(create("model", "luser-sw", task="ct", stages=2, solver=QUICK)).train()
    conv = luser.prox[0].mix[0]
    weights: list[torch.Tensor] = []
    handle = conv.register_forward_pre_hook(lambda m, _: weights.append(m.weight))
    try:
        luser(y, op)
    finally:
        handle.remove()
    per_stage = len(weights) // 2
    assert per_stage >= 2
    assert all(w is weights[0] for w in weights[:per_stage]) and all(w is weights[per_stage] for w in weights[per_stage:])
    lu = create("model", "lu-dncnn", task="ct", stages=2).train()
    norms = [m for m in lu.modules() if isinstance(m, nn.BatchNorm2d)]
    for i, bn in enumerate(norms):  # statistics as after pre-training, so that frozen and batch statistics differ
        bn.running_mean.fill_(0.01 * i)
        bn.running_var.fill_(1.0 + 0.1 * i)
    with torch.no_grad():
        [m for m in lu.modules() if isinstance(m, nn.Conv2d)][-1].weight.normal_(0, 0.01)
    before = [bn.running_mean.clone() for bn in norms]
    y2 = torch.cat([y, 2 * y])
    out_train = lu(y2, op)[0]
    assert all(torch.equal(bn.running_mean, b) for bn, b in zip(norms, before))  # frozen: statistics unchanged
    assert lu.training and all(bn.training for bn in norms)  # restored after the forward
    out_eval = lu.eval()(y2, op)[0]
    alone = lu(y2[:1], op)[0]
    torch.testing.assert_close(out_train, out_eval)  # training computes what evaluation computes
    torch.testing.assert_close(alone, out_eval[:1], rtol=1e-5, atol=1e-6)  # independent of the rest of the batch


def test_learned_kernel_needs_a_blur_and_is_what_the_steps_apply():
    from deq.models.luser.counting import count_calls

    model = create("model", "lu-dncnn", task="deblur", stages=2)
    y = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="learned_kernel=True"):
        model.reconstruct(y, Denoising())
    op = get_task("deblur").operator(16)
    calls = count_calls(model, op, lambda a: model.reconstruct(y, a))
    assert (calls.forward, calls.adjoint) == (2, 2)  # the model's own blur, once per stage each way (x_0 = y)


def test_bad_inputs_are_clear_errors():
    ct = create("model", "luser-sw", task="ct", stages=1, solver=QUICK)
    op = get_task("ct").operator(16)
    with pytest.raises(ValueError, match="NaN/Inf"):
        ct.reconstruct(torch.full((1, 1, 200, 23), float("nan")), op)
    with pytest.raises(ValueError, match="channels=2"):
        create("model", "deq4ip", task="ct").reconstruct(torch.rand(1, 2, 8, 8), get_task("mri4x").operator(8))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        create("model", "luser-dw", task="deblur", stages=1).reconstruct(torch.rand(3, 8, 8), get_task("deblur").operator(8))
    with pytest.raises(ValueError, match="task"):
        create("model", "lu-dncnn")
    with pytest.raises(ValueError, match="unknown task"):
        create("model", "lu-dncnn", task="celeba")
    with pytest.raises(ValueError, match="init must be one of"):
        create("model", "lu-dncnn", task="ct", init="fbp")
    with pytest.raises(ValueError, match="only read with pretrained=True"):
        create("model", "luser-dw", task="ct", weights="w.pt")
    with pytest.raises(ValueError, match="fixed by the weight file"):
        create("model", "luser-dw", pretrained=True, task="ct", channels=1)


@pytest.mark.parametrize("name", ["luser-sw", "luser-dw"])
def test_recompute_trains_luser_with_the_same_gradients(name):
    """``recompute=True`` (f(r*) evaluated again in the backward pass; deq-core) gives the stored-graph gradients, also
    for LUSER-SW, whose shared block takes a Miyato power step at every stage."""
    y, op, x = _denoising_problem(dtype=torch.float32)
    grads = {}
    for recompute in (False, True):
        torch.manual_seed(0)
        model = _contractive(create("model", name, task="ct", stages=3, solver={**QUICK, "recompute": recompute})).train()
        out, _ = model(y, op)
        nn.functional.mse_loss(out, x).backward()
        grads[recompute] = [p.grad.clone() for p in model.parameters()]
    for a, b in zip(grads[True], grads[False]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
