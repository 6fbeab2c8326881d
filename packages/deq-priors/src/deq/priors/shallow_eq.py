"""Shallow equilibrium proximal block of LUSER (Table 1, eq. 7, Fig. 1).

Injection layers ``u = Inj(x)`` are applied once; the residual ``r`` solves the fixed point

    r* = Mix( [u, Data(r*)] ),      r^(0) = 0,                                                      (7)

found by deq-core's :class:`~deq.core.deq.DEQ` (Anderson by default; implicit gradients), and the
block returns ``x + r*`` (skip connection from the input). Layers (every conv 3x3 with bias and
spectral normalization, GroupNorm with ``groups`` groups, LeakyReLU(0.2)):

* Inj:  Conv(C, 32) GN LReLU, Conv(32, 32) GN LReLU
* Data: Conv(C, 32) GN LReLU, Conv(32, 32) GN LReLU   (Table 1 prints the second as 1->32; it is 32->32)
* Mix:  Conv(64, 64) GN LReLU, Conv(64, 64) LReLU, Conv(64, C)

This gives 93,953 / 95,106 / 96,259 parameters for C = 1 / 2 / 3 (LUSER Table 3 adds one step size).
Spectral normalization (default ``"real"``) keeps every conv 1-Lipschitz; GroupNorm is not Lipschitz-
bounded in general, so ``lipschitz_controlled`` is False and convergence is monitored by the solver.
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


def _conv_gn(cin: int, cout: int, groups: int, gn: bool = True) -> list[nn.Module]:
    mods: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=True)]
    if gn:
        mods.append(nn.GroupNorm(groups, cout, affine=True))
    mods.append(nn.LeakyReLU(0.2, inplace=True))
    return mods


class ShallowEquilibrium(nn.Module):
    """LUSER's shallow equilibrium proximal block ``D(x, sigma=None) = x + r*`` on ``[B, C, H, W]``.

    Args:
        in_channels: image channels ``C``.
        groups: GroupNorm groups (must divide 32).
        spectral_norm: ``"real"`` (default), ``"plain"`` or ``None``.
        solver: :class:`~deq.core.solver_config.SolverConfig` of the inner solve, or a dictionary of fields
            overriding :data:`SHALLOW_SOLVER` (Anderson, tol 1e-4, 30 iterations, implicit backward).

    After a forward pass ``self.last_info`` holds the solver's :class:`~deq.core.solvers.SolverInfo`.
    """

    takes_sigma = False
    lipschitz = None  # GroupNorm is not Lipschitz-bounded
    lipschitz_controlled = False
    video = False

    def __init__(
        self,
        in_channels: int = 1,
        groups: int = 8,
        spectral_norm: str | None = "real",
        solver: SolverConfig | dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if 32 % groups:
            raise ValueError(f"ShallowEquilibrium: groups must divide 32 and 64, got {groups}")
        self.in_channels = in_channels
        self.injection = nn.Sequential(*_conv_gn(in_channels, 32, groups), *_conv_gn(32, 32, groups))
        self.data = nn.Sequential(*_conv_gn(in_channels, 32, groups), *_conv_gn(32, 32, groups))
        self.mix = nn.Sequential(
            *_conv_gn(64, 64, groups), *_conv_gn(64, 64, groups, gn=False), nn.Conv2d(64, in_channels, 3, padding=1)
        )
        apply_spectral_norm(self, spectral_norm)
        self.deq = DEQ(self._map, solver if isinstance(solver, SolverConfig) else SHALLOW_SOLVER.replace(**(solver or {})))
        self.last_info = None

    def _map(self, r: Tensor, u: Tensor) -> Tensor:
        """One application of (7): ``Mix([u, Data(r)])``."""
        return self.mix(torch.cat([u, self.data(r)], 1))

    def forward(self, x: Tensor, sigma: object = None) -> Tensor:
        check_image(x, "ShallowEquilibrium", channels=self.in_channels)
        with solve_scope(self):
            u = self.injection(x)
            r, self.last_info = self.deq(torch.zeros_like(x), u)
        return x + r
