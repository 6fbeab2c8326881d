"""Real spectral normalization of convolutions (Ryu et al. 2019; Zhao et al. sec. 4.1.1).

The Lipschitz constant of a convolution layer is the operator norm ``||A_W||_2`` of the linear map
``x -> conv(x, W)`` *with its stride, padding, dilation, groups and input size*, not the norm of the
reshaped ``C_out x (C_in k k)`` weight matrix used by ``torch.nn.utils.spectral_norm`` (which neither
bounds nor equals it). It is computed by power iteration on the operator itself,

    u <- A^T A u / ||A^T A u||,      sigma = ||A u||,                                               (1)

with ``A^T`` the exact adjoint (``torch.nn.grad.conv{2,3}d_input``). :class:`RealSpectralNormConv2d` /
``3d`` wrap a convolution so that it applies ``W * coeff / sigma(W)`` (one power step per training
forward, persistent ``u`` per input size, as in Miyato et al.'s spectral norm), making the layer
``coeff``-Lipschitz at the input size it sees. :func:`network_lipschitz_bound` multiplies the layer
constants along a network (a bound for feed-forward chains).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deq.core.modes import eval_mode

_CONV = {2: (F.conv2d, torch.nn.grad.conv2d_input), 3: (F.conv3d, torch.nn.grad.conv3d_input)}


def _conv_ops(conv: nn.Module):
    if not isinstance(conv, (nn.Conv2d, nn.Conv3d)):
        raise TypeError(f"real spectral norm: expected nn.Conv2d or nn.Conv3d, got {type(conv).__name__}")
    if conv.padding_mode != "zeros":
        raise ValueError(f"real spectral norm: only zero padding is supported, got padding_mode={conv.padding_mode!r}")
    fwd, adj = _CONV[conv.weight.dim() - 2]
    kw = dict(stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
    return fwd, adj, kw


def _power_step(conv: nn.Module, weight: Tensor, u: Tensor) -> Tensor:
    """One step of (1) from unit-norm ``u`` ``[1, C_in, *S]``; returns the new unit-norm ``u``."""
    fwd, adj, kw = _conv_ops(conv)
    v = fwd(u, weight, **kw)
    w = adj(u.shape, weight, v, **kw)
    return w / w.norm().clamp_min(1e-30)


def real_spectral_norm(
    conv: nn.Module, input_shape: Sequence[int], n_iter: int = 200, tol: float = 1e-6, weight: Tensor | None = None
) -> float:
    """Operator norm ``||A_W||_2`` of the convolution ``conv`` (bias excluded) on inputs ``[C_in, *S]``.

    Power iteration (1) in float64 until the estimate changes by less than ``tol`` (relative) or
    ``n_iter`` steps. ``weight`` overrides ``conv.weight`` (e.g. a normalized weight).
    """
    fwd, _, kw = _conv_ops(conv)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != conv.weight.dim() - 1 or shape[0] != conv.in_channels:
        raise ValueError(
            f"real_spectral_norm: input_shape must be (C_in={conv.in_channels}, *spatial) with "
            f"{conv.weight.dim() - 2} spatial dims, got {shape}"
        )
    w = (conv.weight if weight is None else weight).detach().double()
    g = torch.Generator(device="cpu").manual_seed(0)
    u = torch.randn((1, *shape), generator=g, dtype=torch.float64).to(w.device)
    u = u / u.norm()
    sigma = 0.0
    with torch.no_grad():
        for _ in range(n_iter):
            u = _power_step(conv, w, u)
            new = float(fwd(u, w, **kw).norm())
            if abs(new - sigma) <= tol * new:
                return new
            sigma = new
    return sigma


class _RealSpectralNormConv(nn.Module):
    """Shared implementation of :class:`RealSpectralNormConv2d` / ``3d``."""

    _ndim = 2

    def __init__(self, conv: nn.Module, coeff: float = 1.0, n_power_iterations: int = 1, init_iterations: int = 200) -> None:
        super().__init__()
        _conv_ops(conv)
        if conv.weight.dim() - 2 != self._ndim:
            raise TypeError(f"{type(self).__name__}: expected a {self._ndim}-D convolution, got {type(conv).__name__}")
        self.conv, self.coeff = conv, coeff
        self.n_power_iterations, self.init_iterations = n_power_iterations, init_iterations
        self.register_buffer("sigma", torch.zeros(()))
        self._u: Tensor | None = None
        self._scope_depth, self._cached = 0, None

    def _update_sigma(self, x: Tensor) -> Tensor:
        weight = self.conv.weight
        shape = (1, *x.shape[1:])
        fresh = self._u is None or self._u.shape != shape or self._u.device != x.device
        if fresh:
            self._u = torch.randn(shape, device=x.device, dtype=weight.dtype)
            self._u /= self._u.norm()
        with torch.no_grad():
            for _ in range(self.init_iterations if fresh else self.n_power_iterations):
                self._u = _power_step(self.conv, weight.detach(), self._u)
        fwd, _, kw = _conv_ops(self.conv)
        return fwd(self._u, weight, **kw).norm()  # differentiable in W, u held fixed

    def _normalize(self, x: Tensor) -> Tensor:
        """``W * coeff / sigma``; in training (or before the first estimate) one power step at ``x``'s size."""
        if self.training or float(self.sigma) == 0.0:
            sigma = self._update_sigma(x)
            with torch.no_grad():
                self.sigma.copy_(sigma.detach())
        else:
            sigma = self.sigma
        return self.conv.weight * (self.coeff / sigma)

    def forward(self, x: Tensor) -> Tensor:
        fwd, _, kw = _conv_ops(self.conv)
        if not self._scope_depth:
            return fwd(x, self._normalize(x), self.conv.bias, **kw)
        if self._cached is None:
            with torch.enable_grad():  # the first call of a solve may run under no_grad; the cache keeps W's graph
                self._cached = self._normalize(x)
        return fwd(x, self._cached, self.conv.bias, **kw)

    @contextmanager
    def solve_scope(self) -> Iterator[None]:
        """deq-core's solve-scope protocol (:func:`deq.core.solve_scope.solve_scope`): within the block the
        normalized weight is computed once (on the first call, power step included, with its graph to ``W``
        even when that call runs under ``torch.no_grad``, as the first iteration of a solve does) and reused,
        so a fixed-point map stays one map across solver iterations while gradients still reach ``W`` (the
        analogue of ``torch.nn.utils.parametrize.cached``). Scopes nest; the cache lives until the outermost
        one ends."""
        self._scope_depth += 1
        try:
            yield
        finally:
            self._scope_depth -= 1
            if not self._scope_depth:
                self._cached = None

    def normalized_weight(self) -> Tensor:
        """The weight the layer applies, ``W * coeff / sigma``."""
        return self.conv.weight * (self.coeff / self.sigma)


class RealSpectralNormConv2d(_RealSpectralNormConv):
    """``nn.Conv2d`` applied with weight ``W * coeff / ||A_W||_2`` (operator norm at the input size seen)."""

    _ndim = 2


class RealSpectralNormConv3d(_RealSpectralNormConv):
    """``nn.Conv3d`` applied with weight ``W * coeff / ||A_W||_2`` (operator norm at the input size seen)."""

    _ndim = 3


SPECTRAL_NORMS = (None, "real", "plain")


def apply_spectral_norm(module: nn.Module, mode: str | None, coeff: float = 1.0) -> bool:
    """Normalize every convolution inside ``module`` in place; returns whether the result is
    Lipschitz-controlled.

    ``mode``: ``None`` (nothing), ``"real"`` (wrap each ``nn.Conv2d``/``3d`` in
    :class:`RealSpectralNormConv2d`/``3d``: True) or ``"plain"``
    (``torch.nn.utils.parametrizations.spectral_norm`` on the reshaped weight: False, it is no bound).
    """
    if mode not in SPECTRAL_NORMS:
        raise ValueError(f"spectral_norm must be one of {SPECTRAL_NORMS}, got {mode!r}")
    if mode is None:
        return False
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Conv3d)):
            if mode == "plain":
                nn.utils.parametrizations.spectral_norm(child)
            else:
                cls = RealSpectralNormConv2d if isinstance(child, nn.Conv2d) else RealSpectralNormConv3d
                setattr(module, name, cls(child, coeff=coeff))
        elif not isinstance(child, _RealSpectralNormConv):
            apply_spectral_norm(child, mode, coeff)
    return mode == "real"


def _bn_scale(bn: nn.Module) -> float:
    scale = torch.ones(bn.num_features) if bn.weight is None else bn.weight.detach().abs().cpu()
    return float((scale / torch.sqrt(bn.running_var.cpu() + bn.eps)).max())


_ACTIVATION_LIPSCHITZ = {nn.ReLU: 1.0, nn.Tanh: 1.0, nn.Sigmoid: 0.25, nn.Identity: 1.0}


def network_lipschitz_bound(model: nn.Module, input_shape: Sequence[int], *args: object, **kwargs: object) -> float:
    """Product of the layer Lipschitz constants met by ``model(x, *args, **kwargs)`` on ``x`` of shape
    ``[1, *input_shape]`` in eval mode: operator norms of every convolution at the size it actually sees
    (normalized weight for spectral-normalized layers), BatchNorm's ``max |gamma| / sqrt(var + eps)``,
    LeakyReLU ``max(1, |slope|)``, Sigmoid ``1/4``, other listed activations 1.

    This bounds the Lipschitz constant of a feed-forward chain. For residual outputs ``x - net(x)``
    add 1 (triangle inequality); for skip/concatenation architectures (UNet) it is the product along
    one path, an indication rather than a bound.
    """
    factors: list[float] = []
    handles = []

    def hook(mod: nn.Module, inputs: tuple[Tensor, ...], _out: Tensor) -> None:
        if isinstance(mod, _RealSpectralNormConv):
            factors.append(real_spectral_norm(mod.conv, inputs[0].shape[1:], weight=mod.normalized_weight()))
        elif isinstance(mod, (nn.Conv2d, nn.Conv3d)) and not _inside_real_sn(mod):
            factors.append(real_spectral_norm(mod, inputs[0].shape[1:], weight=mod.weight))
        elif isinstance(mod, nn.modules.batchnorm._BatchNorm):
            factors.append(_bn_scale(mod))
        elif isinstance(mod, nn.Upsample) and mod.mode == "nearest" and mod.scale_factor is not None:
            scale = mod.scale_factor if isinstance(mod.scale_factor, tuple) else (mod.scale_factor,) * (inputs[0].dim() - 2)
            factors.append(math.sqrt(math.prod(scale)))
        elif isinstance(mod, (nn.AvgPool2d, nn.AvgPool3d)) and mod.stride == mod.kernel_size:
            k = mod.kernel_size if isinstance(mod.kernel_size, tuple) else (mod.kernel_size,) * (inputs[0].dim() - 2)
            factors.append(1.0 / math.sqrt(math.prod(k)))
        elif isinstance(mod, nn.LeakyReLU):
            factors.append(max(1.0, abs(mod.negative_slope)))
        elif type(mod) in _ACTIVATION_LIPSCHITZ:
            factors.append(_ACTIVATION_LIPSCHITZ[type(mod)])

    wrapped = {id(m.conv) for m in model.modules() if isinstance(m, _RealSpectralNormConv)}

    def _inside_real_sn(mod: nn.Module) -> bool:
        return id(mod) in wrapped

    try:
        for m in model.modules():
            handles.append(m.register_forward_hook(hook))
        with eval_mode(model), torch.no_grad():
            p = next(model.parameters(), None)
            x = torch.zeros((1, *input_shape), dtype=p.dtype if p is not None else torch.float32)
            model(x.to(p.device) if p is not None else x, *args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return math.prod(factors)
