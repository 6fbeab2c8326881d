"""The registered models and their factories: ``lu-dncnn``, ``deq4ip``, ``luser-sw``, ``luser-dw``.

Every factory takes deq's common keywords ``pretrained`` / ``weights`` and JSON-able options, which are the
weights config: ``task`` (``deblur``, ``ct``, ``mri4x``, ``mri8x``: fixes the defaults of the other options and
selects the shipped weights), ``channels`` (1 CT, 2 MRI, 3 deblurring), ``init`` (``"adjoint"``: ``x_0 = A^T y``;
``"measurement"``: ``x_0 = y``), ``learned_kernel`` (the model carries a learnable 9x9 blur kernel; by default as
LUSER Table 3 counts: for LU-DnCNN, DEQ4IP and LUSER-SW in deblurring), ``stages`` (``K = 8``) and ``solver``
(the equilibrium solve of DEQ4IP, the inner solve of each LUSER block: a dictionary of
:class:`~deq.core.solver_config.SolverConfig` fields).

Parameter counts (LUSER Table 3; tested): LU-DnCNN and DEQ4IP 556,033 / 557,185 / 558,580 (CT / MRI /
deblurring), LUSER-SW 93,954 / 95,107 / 96,503, LUSER-DW 751,625 / 760,849 / 770,073: the networks, one step
size and, where counted, the 3x9x9 kernel.

Every prox network starts as the identity, so an untrained model is ``K`` Landweber steps (DEQ4IP: their fixed
point) and training departs from there. LU-DnCNN's last convolution is initialised to 0. The shallow block's last
GroupNorm weight and last conv bias are 0 (as the "zero-init residual" of Goyal et al. 2017; the LeakyReLU after
that norm passes gradient at 0). DEQ4IP's DnCNN cannot start from a zero last convolution (Miyato's spectral
norm divides by the weight's norm) nor from a zero last batch-norm weight (it feeds a ReLU, whose gradient at 0
is 0: the whole DnCNN would stay frozen), so its last batch-norm weight starts at :data:`DEQ4IP_START_GAIN`: the
residual starts small and every layer gets gradient (tested). The paper does not state its initialisation; this
choice matters here because the CPU training runs are short.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deq.models.luser.deq4ip import DEQ4IP
from deq.models.luser.step import DataStep
from deq.models.luser.tasks import get_task
from deq.models.luser.unrolled import LoopUnrolled

#: registry names -> whether the paper counts the learned blur kernel in deblurring (Table 3)
MODELS = {"lu-dncnn": True, "deq4ip": True, "luser-sw": True, "luser-dw": False}
#: DEQ4IP's DnCNN: the starting weight of its last batch norm (see the module docstring)
DEQ4IP_START_GAIN = 0.01
#: the shallow blocks' inner solve (Anderson, LUSER sec. 3; implicit gradient)
LUSER_SOLVER = {
    "solver": "anderson",
    "tol": 1e-3,
    "max_iter": 30,
    "solver_options": {"m": 5},
    "backward_tol": 1e-3,
    "backward_max_iter": 30,
    "backward_solver_options": {"m": 5},
}


def dncnn(channels: int, spectral_norm: str | None) -> nn.Module:
    """LUSER's DnCNN (sec. 4.1, after Ryu et al.): 17 layers, 64 channels, BN and ReLU, no conv bias, residual
    output ``v - net(v)``; ``spectral_norm="plain"`` (Miyato) for DEQ4IP."""
    from deq.priors.dncnn import DnCNN

    net = DnCNN(in_channels=channels, depth=17, width=64, batch_norm=True, bias=False, residual=True, spectral_norm=spectral_norm)
    with torch.no_grad():
        if spectral_norm is not None:
            [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)][-1].weight.fill_(DEQ4IP_START_GAIN)
        else:
            [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1].weight.zero_()
    return net


def shallow_block(channels: int, solver: dict[str, Any] | None) -> nn.Module:
    """LUSER's proximal block (Table 1, eq. 7): deq-priors' shallow equilibrium block with Miyato spectral norm
    on every conv; ``solver`` overrides :data:`LUSER_SOLVER`."""
    from deq.priors.shallow_eq import ShallowEquilibrium

    return _identity_start(
        ShallowEquilibrium(in_channels=channels, spectral_norm="plain", solver={**LUSER_SOLVER, **(solver or {})})
    )


def _identity_start(net: nn.Module) -> nn.Module:
    """Zero the weight of the last normalisation layer of ``net`` and the bias of its last convolution (see the
    module docstring): the residual the network adds to its input starts at exactly 0."""
    norms = [m for m in net.modules() if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm))]
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        norms[-1].weight.zero_()
        if convs[-1].bias is not None:
            convs[-1].bias.zero_()
    return net


def _options(name: str, task: str | None, channels: int | None, init: str | None, learned_kernel: bool | None) -> dict[str, Any]:
    """The resolved task options of a fresh model."""
    if task is None:
        raise ValueError(f"{name}: pass task=... (one of deblur, ct, mri4x, mri8x); it sets channels, init and learned_kernel")
    t = get_task(task)
    kernel = MODELS[name] and t.name == "deblur" if learned_kernel is None else bool(learned_kernel)
    return {
        "task": t.name,
        "channels": t.channels if channels is None else channels,
        "init": t.init if init is None else init,
        "learned_kernel": kernel,
    }


def set_solver_settings(model: nn.Module, **settings: Any) -> nn.Module:
    """``model`` with ``settings`` (:class:`~deq.core.solver_config.SolverConfig` fields) applied to every equilibrium
    layer in it (DEQ4IP's solve, each LUSER block's inner solve; nothing for LU-DnCNN)."""
    for m in model.modules():
        if hasattr(m, "deq") and hasattr(m.deq, "config"):
            m.deq.config = m.deq.config.replace(**settings)
    return model


def _for_task(model: nn.Module, options: dict[str, Any]) -> nn.Module:
    """Record the task a fresh model was built for (``model.task``: the weights loader checks it)."""
    model.task = options["task"]
    return model


def _trained(name: str, task: str | None, weights: str | None, solver: dict[str, Any] | None, fixed: dict[str, Any]) -> nn.Module:
    """The trained ``name`` from ``weights`` or the shipped file for ``task``; architecture options are fixed by the file."""
    given = sorted(k for k, v in fixed.items() if v is not None)
    if given:
        raise ValueError(f"{name}: {given} are fixed by the weight file when pretrained=True; pass only task, weights or solver")
    from deq.models.luser.weights import load_weights

    return load_weights(name, task=task, weights=weights, solver=solver)


def _check_weights(name: str, pretrained: bool, weights: str | None) -> None:
    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} is only read with pretrained=True")


def lu_dncnn(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    task: str | None = None,
    channels: int | None = None,
    init: str | None = None,
    learned_kernel: bool | None = None,
    stages: int | None = None,
) -> nn.Module:
    """LU-DnCNN (LUSER sec. 4): ``K = 8`` proximal-gradient stages sharing one 17-layer DnCNN
    (:class:`~deq.models.luser.unrolled.LoopUnrolled`), trained end to end. ``pretrained``: the shipped weights for
    ``task`` or the file ``weights``."""
    _check_weights("lu-dncnn", pretrained, weights)
    if pretrained:
        return _trained(
            "lu-dncnn",
            task,
            weights,
            None,
            {"channels": channels, "init": init, "learned_kernel": learned_kernel, "stages": stages},
        )
    o = _options("lu-dncnn", task, channels, init, learned_kernel)
    step = DataStep(o["channels"], o["init"], o["learned_kernel"])
    return _for_task(LoopUnrolled(dncnn(o["channels"], None), step, 8 if stages is None else stages), o)


def deq4ip(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    task: str | None = None,
    channels: int | None = None,
    init: str | None = None,
    learned_kernel: bool | None = None,
    solver: dict[str, Any] | None = None,
) -> nn.Module:
    """DEQ4IP (Gilton et al. 2021; :class:`~deq.models.luser.deq4ip.DEQ4IP`): the LU-DnCNN stage with Miyato
    spectral norm on every conv, iterated to its fixed point (Anderson, implicit gradient); ``solver`` overrides
    :data:`~deq.models.luser.deq4ip.DEQ4IP_SOLVER`."""
    _check_weights("deq4ip", pretrained, weights)
    if pretrained:
        return _trained("deq4ip", task, weights, solver, {"channels": channels, "init": init, "learned_kernel": learned_kernel})
    o = _options("deq4ip", task, channels, init, learned_kernel)
    step = DataStep(o["channels"], o["init"], o["learned_kernel"])
    return _for_task(DEQ4IP(step, dncnn(o["channels"], "plain"), solver), o)


def _luser(
    name: str,
    per_stage: bool,
    pretrained: bool,
    weights: str | None,
    task: str | None,
    channels: int | None,
    init: str | None,
    learned_kernel: bool | None,
    stages: int | None,
    solver: dict[str, Any] | None,
) -> nn.Module:
    _check_weights(name, pretrained, weights)
    if pretrained:
        return _trained(
            name, task, weights, solver, {"channels": channels, "init": init, "learned_kernel": learned_kernel, "stages": stages}
        )
    o = _options(name, task, channels, init, learned_kernel)
    k = 8 if stages is None else stages
    step = DataStep(o["channels"], o["init"], o["learned_kernel"])
    blocks = [shallow_block(o["channels"], solver) for _ in range(k if per_stage else 1)]
    return _for_task(LoopUnrolled(blocks, step, k), o)


def luser_sw(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    task: str | None = None,
    channels: int | None = None,
    init: str | None = None,
    learned_kernel: bool | None = None,
    stages: int | None = None,
    solver: dict[str, Any] | None = None,
) -> nn.Module:
    """LUSER-SW (LUSER eq. 7, Fig. 1, Table 1): ``K = 8`` stages whose proximal step is one shallow equilibrium
    block shared by every stage; ``solver`` overrides the inner solve's :data:`LUSER_SOLVER`."""
    return _luser("luser-sw", False, pretrained, weights, task, channels, init, learned_kernel, stages, solver)


def luser_dw(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    task: str | None = None,
    channels: int | None = None,
    init: str | None = None,
    learned_kernel: bool | None = None,
    stages: int | None = None,
    solver: dict[str, Any] | None = None,
) -> nn.Module:
    """LUSER-DW (LUSER sec. 3): as LUSER-SW with a different shallow equilibrium block at every stage."""
    return _luser("luser-dw", True, pretrained, weights, task, channels, init, learned_kernel, stages, solver)


FACTORIES = {"lu-dncnn": lu_dncnn, "deq4ip": deq4ip, "luser-sw": luser_sw, "luser-dw": luser_dw}


def config_of(name: str, model: nn.Module, solver: dict[str, Any] | None = None) -> dict[str, Any]:
    """The weights config (factory keywords) that rebuilds ``model`` (a fresh ``name``)."""
    step = model.step
    config: dict[str, Any] = {
        "task": model.task,
        "channels": step.channels,
        "init": step.init,
        "learned_kernel": step.blur is not None,
    }
    if name != "deq4ip":
        config["stages"] = model.stages
    if name != "lu-dncnn" and solver:
        config["solver"] = dict(solver)
    return config
