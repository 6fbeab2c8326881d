"""Shallow equilibrium proximal block of LUSER (Guan et al., Table 1, eq. 7, Fig. 1).

Injection layers ``u = Inj(x)`` are applied once; the residual ``r`` solves the fixed point

    r* = Mix( Data(r*) (+) u ),      r^(0) = 0,                                                     (7)

(``(+)``: channel concatenation) found by deq-core's :class:`~deq.core.deq.DEQ` (Anderson by default;
implicit gradients), and the block returns ``x + r*`` (the skip connection from the input). The layers are
Table 1 as printed (every conv 3x3, padding 1, with bias and spectral normalisation; GroupNorm with
``groups`` groups; LeakyReLU(0.2)):

* Inj:  Conv(C, 32) LReLU, Conv(32, 32) LReLU                               (no GroupNorm)
* Data: Conv(C, 32) GN LReLU, Conv(32, 32) GN LReLU   (Table 1 prints the second as 1->32; it is 32->32)
* Mix:  Conv(64, 64) GN LReLU, Conv(64, 64) GN LReLU, Conv(64, C)

This gives 93,953 / 95,106 / 96,259 parameters for C = 1 / 2 / 3 (LUSER Table 3 adds one step size, and
for LUSER-SW in deblurring the 3x9x9 blur kernel). The count does not fix the layout: moving the two 32-channel
GroupNorms from Data to Inj and one 64-channel GroupNorm out of Mix keeps it, so the tests check the layer
sequence itself. The paper wraps every conv in Miyato et al.'s spectral norm (its ref. [18]), the default
``spectral_norm="plain"``; inside a solve the normalised weights are computed once and reused
(:func:`deq.core.solve_scope.solve_scope`), so the map is one map across the solver's iterations. GroupNorm
is per sample and has no running statistics, so it needs no such policy; it is not Lipschitz-bounded, so the
block's constant is not bounded by construction (convergence is monitored by the solver).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from deq.core.deq import DEQ
from deq.core.solve_scope import solve_scope
from deq.core.solver_config import SolverConfig
from deq.priors.base import check_image
from deq.priors.spectral import apply_spectral_norm

#: the inner solve's default settings
SHALLOW_SOLVER = SolverConfig(solver="anderson", tol=1e-4, max_iter=30, backward="ift")
#: the prior protocol's ``lipschitz`` per spectral-norm mode: GroupNorm breaks the bound of real spectral norm
_LIPSCHITZ = {None: None, "real": None, "plain": "miyato"}


def _conv(cin: int, cout: int, groups: int | None) -> list[nn.Module]:
    """Conv 3x3 (bias) [+ GroupNorm] + LeakyReLU(0.2): one row of Table 1."""
    mods: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=True)]
    if groups is not None:
        mods.append(nn.GroupNorm(groups, cout, affine=True))
    mods.append(nn.LeakyReLU(0.2, inplace=True))
    return mods


class ShallowEquilibrium(nn.Module):
    """LUSER's shallow equilibrium proximal block ``D(x, sigma=None) = x + r*`` on ``[B, C, H, W]`` (eq. 7).

    Args:
        in_channels: image channels ``C``.
        groups: GroupNorm groups (must divide 32).
        spectral_norm: ``"plain"`` (Miyato, the paper's; default), ``"real"`` or ``None``.
        solver: :class:`~deq.core.solver_config.SolverConfig` of the inner solve, or a dictionary of fields
            overriding :data:`SHALLOW_SOLVER` (Anderson, tol 1e-4, 30 iterations, implicit backward).

    After a forward pass ``self.last_info`` holds the solver's :class:`~deq.core.solvers.SolverInfo`.
    """

    takes_sigma = False
    video = False

    def __init__(
        self,
        in_channels: int = 1,
        groups: int = 8,
        spectral_norm: str | None = "plain",
        solver: SolverConfig | dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(groups, int) or groups < 1 or 32 % groups:
            raise ValueError(f"ShallowEquilibrium: groups must divide 32 and 64, got {groups}")
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"ShallowEquilibrium: in_channels must be a positive integer, got {in_channels!r}")
        self.in_channels = in_channels
        self.injection = nn.Sequential(*_conv(in_channels, 32, None), *_conv(32, 32, None))
        self.data = nn.Sequential(*_conv(in_channels, 32, groups), *_conv(32, 32, groups))
        self.mix = nn.Sequential(*_conv(64, 64, groups), *_conv(64, 64, groups), nn.Conv2d(64, in_channels, 3, padding=1))
        apply_spectral_norm(self, spectral_norm)
        self.lipschitz = _LIPSCHITZ[spectral_norm]
        self.deq = DEQ(self._map, solver if isinstance(solver, SolverConfig) else SHALLOW_SOLVER.replace(**(solver or {})))
        self.last_info = None

    @property
    def lipschitz_controlled(self) -> bool:
        """False: GroupNorm is not Lipschitz-bounded, whatever the spectral normalisation."""
        return False

    def _map(self, r: Tensor, u: Tensor) -> Tensor:
        """One application of (7): ``Mix(Data(r) (+) u)``, ``r [B, C, H, W]``, ``u [B, 32, H, W]``."""
        return self.mix(torch.cat([self.data(r), u], 1))

    def forward(self, x: Tensor, sigma: object = None) -> Tensor:
        check_image(x, "ShallowEquilibrium", channels=self.in_channels)
        with solve_scope(self):
            u = self.injection(x)
            r, self.last_info = self.deq(torch.zeros_like(x), u)
        return x + r
