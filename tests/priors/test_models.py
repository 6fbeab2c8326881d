"""Every registered prior: built by name, shape-preserving, differentiable, clear input errors;
parameter counts of LUSER Table 3; architecture-specific properties."""

from __future__ import annotations

import pytest
import torch

from deq.priors.plugin import deq_priors

#: name -> (small options, input shape) keeping the whole file fast on a CPU
SMALL = {
    "dncnn": ({"depth": 4, "width": 8}, (2, 1, 16, 16)),
    "ffdnet": ({"depth": 4, "width": 8}, (2, 1, 15, 17)),
    "unet": ({"base": 4, "levels": 3}, (2, 1, 16, 16)),
    "unet3d": ({"base": 4, "levels": 2}, (2, 1, 4, 8, 8)),
    "cnn": ({"in_channels": 2, "depth": 3, "width": 8}, (2, 2, 12, 12)),
    "rsn-cnn": ({"depth": 3, "width": 8}, (2, 1, 12, 12)),
    "rsn-unet": ({"base": 4, "levels": 2}, (2, 1, 8, 8)),
    "hsi-cnn": ({"in_channels": 5, "width": 8}, (2, 5, 10, 10)),
    "shallow-eq": ({"solver": {"max_iter": 15}}, (2, 1, 12, 12)),
    "tv": ({"weight": 0.1}, (2, 1, 12, 12)),
    "soft-threshold": ({"threshold": 0.1}, (2, 1, 12, 12)),
    "wavelet": ({"threshold": 0.1, "wavelet": "haar", "level": 2}, (2, 1, 16, 16)),
}
LEARNED = ["dncnn", "ffdnet", "unet", "unet3d", "cnn", "rsn-cnn", "rsn-unet", "hsi-cnn", "shallow-eq"]


def test_every_prior_is_registered_through_the_plugin(registry):
    assert set(deq_priors()) == set(SMALL)
    for name in SMALL:
        comp = registry.get("prior", name)
        assert comp.distribution == "deq-priors"
        assert isinstance(comp.obj(**SMALL[name][0]).lipschitz_controlled, bool)


#: how each prior's Lipschitz constant is controlled (deq.core.prior.Prior.lipschitz)
LIPSCHITZ = {
    "shallow-eq": "miyato",
    "rsn-cnn": "real",
    "rsn-unet": "real",
    "hsi-cnn": "real",
    "tv": "prox",
    "soft-threshold": "prox",
    "wavelet": "prox",
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_prior_declares_the_prior_protocol(registry, name):
    from deq.core.prior import Prior, check_prior, lipschitz_bounded

    model = registry.get("prior", name).obj(**SMALL[name][0])
    check_prior(model, name)
    assert isinstance(model, Prior) and model.lipschitz == LIPSCHITZ.get(name)
    assert model.lipschitz_controlled == lipschitz_bounded(model)
    assert model.takes_sigma == (name in ("ffdnet", "tv", "soft-threshold", "wavelet"))
    assert model.video == (name == "unet3d")


def test_miyato_spectral_norm_is_declared_and_no_bound():
    model = deq_priors()["dncnn"](depth=3, width=4, batch_norm=False, spectral_norm="plain")
    assert model.lipschitz == "miyato" and not model.lipschitz_controlled
    for name in ("dncnn", "ffdnet", "unet"):
        with pytest.raises(ValueError, match="breaks the Lipschitz bound"):
            deq_priors()[name](batch_norm=True, spectral_norm="real")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shape_and_sigma(registry, name):
    opts, shape = SMALL[name]
    model = registry.get("prior", name).obj(**opts)
    x = torch.rand(shape)
    out = model(x, torch.full((shape[0],), 0.1)) if name != "wavelet" else model(x, 0.1)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("name", LEARNED)
def test_gradients_reach_parameters_and_input(registry, name):
    opts, shape = SMALL[name]
    model = registry.get("prior", name).obj(**opts).train()
    x = torch.rand(shape, requires_grad=True)
    model(x, 0.1).square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


@pytest.mark.parametrize("name", LEARNED)
def test_bad_input_is_a_clear_error(registry, name):
    opts, shape = SMALL[name]
    model = registry.get("prior", name).obj(**opts)
    with pytest.raises(ValueError, match=r"\[B, C"):
        model(torch.rand(shape[2:]), 0.1)
    wrong = (shape[0], shape[1] + 1, *shape[2:])
    with pytest.raises(ValueError, match="channel"):
        model(torch.rand(wrong), 0.1)


def test_unknown_option_is_an_error(registry):
    with pytest.raises(TypeError):
        registry.get("prior", "dncnn").obj(depht=3)


@pytest.mark.parametrize("channels, expected", [(1, 556_032), (2, 557_184)])
def test_dncnn_parameter_count_luser_table3(registry, channels, expected):
    model = registry.get("prior", "dncnn").obj(in_channels=channels, depth=17, width=64, batch_norm=True, bias=False)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("channels, expected", [(1, 93_953), (2, 95_106), (3, 96_259)])
def test_shallow_eq_parameter_count_luser_table3(registry, channels, expected):
    model = registry.get("prior", "shallow-eq").obj(in_channels=channels)
    assert sum(p.numel() for p in model.parameters()) == expected


def _layers(seq) -> list[str]:
    """``conv(cin,cout)`` / ``GN(groups,channels)`` / ``LReLU`` for each layer of a Sequential."""
    out = []
    for m in seq:
        if isinstance(m, torch.nn.Conv2d):
            out.append(f"conv({m.in_channels},{m.out_channels})")
        elif isinstance(m, torch.nn.GroupNorm):
            out.append(f"GN({m.num_groups},{m.num_channels})")
        elif isinstance(m, torch.nn.LeakyReLU):
            out.append("LReLU")
        else:
            out.append(type(m).__name__)
    return out


def test_shallow_eq_layout_is_luser_table1(registry):
    """Table 1 as printed: no GroupNorm in the injection layers, two in the data layers, two in the mix layers; the
    parameter count alone cannot tell this layout from one with the norms moved (the test above passes for both)."""
    model = registry.get("prior", "shallow-eq").obj(in_channels=3)
    assert _layers(model.injection) == ["conv(3,32)", "LReLU", "conv(32,32)", "LReLU"]
    assert _layers(model.data) == ["conv(3,32)", "GN(8,32)", "LReLU", "conv(32,32)", "GN(8,32)", "LReLU"]
    assert _layers(model.mix) == ["conv(64,64)", "GN(8,64)", "LReLU", "conv(64,64)", "GN(8,64)", "LReLU", "conv(64,3)"]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 7 and all(c.bias is not None for c in convs)
    assert all(torch.nn.utils.parametrize.is_parametrized(c, "weight") for c in convs)  # Miyato on every conv


def test_shallow_eq_miyato_weights_are_fixed_during_one_solve(registry):
    """In training mode Miyato's spectral norm takes a power step on every access of a weight; inside the block's solve
    every iteration must see the same normalised weights (deq-core's solve_scope), computed once per forward."""
    model = registry.get("prior", "shallow-eq").obj(solver={"max_iter": 6, "tol": 1e-12, "warn_unconverged": False}).train()
    seen: list[torch.Tensor] = []
    conv = model.mix[0]
    handle = conv.register_forward_pre_hook(lambda m, _: seen.append(m.weight))
    try:
        model(torch.rand(2, 1, 8, 8))
    finally:
        handle.remove()
    assert len(seen) >= 6  # every solver iteration (plus the final application with a graph)
    assert all(w is seen[0] for w in seen), "the normalised weight changed between iterations of one solve"
    u_before = conv.parametrizations.weight[0]._u.clone()
    model(torch.rand(2, 1, 8, 8))
    assert not torch.equal(conv.parametrizations.weight[0]._u, u_before)  # a new forward takes a new power step


def test_ffdnet_requires_sigma_and_uses_it(registry):
    model = registry.get("prior", "ffdnet").obj(depth=3, width=8).eval()
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="sigma"):
        model(x)
    assert not torch.allclose(model(x, 0.0), model(x, 0.2))


def test_unet_rejects_indivisible_size(registry):
    model = registry.get("prior", "unet").obj(base=4, levels=3)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.rand(1, 1, 10, 16))


def test_unet3d_handles_any_number_of_frames(registry):
    model = registry.get("prior", "unet3d").obj(base=4, levels=2)
    for t in (3, 8):
        assert model(torch.rand(1, 1, t, 8, 8)).shape == (1, 1, t, 8, 8)


def test_shallow_eq_converges_and_input_gradient_matches_finite_difference(registry):
    """A contractive instance (the last GroupNorm's gain scaled to 0.1: a random block at init need not contract) is
    solved to 1e-10, and its implicit input gradient equals central finite differences."""
    torch.manual_seed(0)
    model = registry.get("prior", "shallow-eq").obj(solver={"tol": 1e-10, "max_iter": 60}).double().eval()
    with torch.no_grad():
        model.mix[4].weight.mul_(0.1)
    x = torch.rand(1, 1, 10, 10, dtype=torch.float64, requires_grad=True)
    v = torch.randn_like(x)
    out = model(x)
    assert bool(model.last_info.converged.all())
    (grad,) = torch.autograd.grad((out * v).sum(), x)
    d = torch.randn_like(x)
    eps = 1e-5
    with torch.no_grad():
        fd = ((model(x + eps * d) - model(x - eps * d)) * v).sum() / (2 * eps)
    assert abs(float((grad * d).sum()) - float(fd)) < 1e-4 * abs(float(fd)) + 1e-7


@pytest.mark.parametrize(
    "name, opts, shape",
    [
        ("dncnn", {"depth": 3, "width": 3}, (1, 1, 5, 5)),
        ("ffdnet", {"depth": 3, "width": 3}, (1, 1, 6, 6)),
        ("rsn-cnn", {"depth": 2, "width": 3}, (1, 1, 5, 5)),
        ("unet3d", {"base": 2, "levels": 2}, (1, 1, 2, 4, 4)),
    ],
)
def test_gradcheck_in_double(registry, name, opts, shape):
    model = registry.get("prior", name).obj(**opts).double().eval()
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)
    model(x, sigma)  # fixes the spectral-norm constants of a fresh model
    inputs = (x, sigma) if name == "ffdnet" else (x,)
    assert torch.autograd.gradcheck(lambda *a: model(a[0], a[1] if len(a) > 1 else 0.1), inputs, eps=1e-6, atol=1e-5)
