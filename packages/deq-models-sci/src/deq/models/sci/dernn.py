"""DE-RNN (Zhao et al. eq. 12-13): a BIRNAT-style bidirectional recurrent CNN as the equilibrium map.

After the shared GAP step ``v = GAP(x)`` (8), a forward RNN runs over the frames and a backward RNN runs
over the forward RNN's features; the backward RNN's output is the new estimate, which the equilibrium
iteration feeds back into the forward RNN (through the GAP step):

    h_t = relu(E_f v_t + R_f h_{t-1}),      g_t = relu(E_b h_t + R_b g_{t+1}),      x_t = O g_t + c v_t
    f(x; y) = [x_1 .. x_T]                                                          (12-13)

Every convolution carries deq-priors' *real* spectral normalization (operator norm of the convolution at
its input size) scaled by ``coeff``, and the skip weight is ``c = skip``, so the map's Lipschitz constant
can be driven below one (Theorem 1); ``lipschitz_at`` measures it at the fixed point. The same equilibrium
solver and implicit backward as DE-GAP are used (:class:`EquilibriumSCI`); deq-core's solve scope fixes the
spectral-normalised weights once per solve, so the forward solve and the implicit backward see one map.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from deq.core.solver_config import SolverConfig
from deq.models.sci.degap import EquilibriumSCI, GAPMap


def _conv(cin: int, cout: int, coeff: float) -> nn.Module:
    from deq.priors.spectral import RealSpectralNormConv2d

    return RealSpectralNormConv2d(nn.Conv2d(cin, cout, 3, padding=1), coeff=coeff)


class BiRNN(nn.Module):
    """The bidirectional recurrent CNN of (12-13) on videos ``[B, 1, T, H, W]`` (any ``T``)."""

    def __init__(self, width: int = 16, coeff: float = 0.5, skip: float = 0.5) -> None:
        super().__init__()
        if width < 1 or not 0 < coeff or not 0 <= skip < 1:
            raise ValueError(f"BiRNN: need width >= 1, coeff > 0 and skip in [0, 1); got {width}, {coeff}, {skip}")
        self.width, self.skip = width, skip
        self.enc_f, self.rec_f = _conv(1, width, coeff), _conv(width, width, coeff)
        self.enc_b, self.rec_b = _conv(width, width, coeff), _conv(width, width, coeff)
        self.out = _conv(width, 1, coeff)

    def forward(self, v: Tensor) -> Tensor:
        if v.dim() != 5 or v.shape[1] != 1:
            raise ValueError(f"BiRNN: expected a grayscale video [B, 1, T, H, W], got shape {list(v.shape)}")
        b, _, t, h, w = v.shape
        feats, state = [], v.new_zeros(b, self.width, h, w)
        for k in range(t):  # forward RNN
            state = torch.relu(self.enc_f(v[:, :, k]) + self.rec_f(state))
            feats.append(state)
        outs: list[Tensor] = [v.new_empty(0)] * t
        state = v.new_zeros(b, self.width, h, w)
        for k in reversed(range(t)):  # backward RNN over the forward features
            state = torch.relu(self.enc_b(feats[k]) + self.rec_b(state))
            outs[k] = self.out(state) + self.skip * v[:, :, k]
        return torch.stack(outs, dim=2)


class RNNMap(GAPMap):
    """The DE-RNN iteration map ``f(x, y, Phi) = BiRNN(GAP(x))`` (with ``accelerate``, on the accelerated state of
    :class:`~deq.models.sci.degap.GAPMap`)."""

    def __init__(self, rnn: BiRNN, accelerate: bool = False) -> None:
        super().__init__(accelerate)
        self.rnn = rnn

    def net(self, v: Tensor) -> Tensor:
        return self.rnn(v)


class DERNN(EquilibriumSCI):
    """DE-RNN (Zhao et al. eq. 12-13): equilibrium of ``f(x) = BiRNN(GAP(x))`` with implicit gradients.

    Args:
        width: feature channels of the recurrent cells.
        coeff: spectral-norm bound ``c`` of every convolution. The map's Lipschitz constant is then at most
            ``c * (c / (1 - c))**2 + skip`` for ``c < 1`` (GAP's step is nonexpansive, each RNN pass sums a
            geometric series over the frames): 1 at the defaults, nonexpansive by construction (Theorem 1). The
            shipped weights use 1.0, which bounds nothing; their contraction at the fixed point is measured
            (``lipschitz_at``), not guaranteed.
        skip: weight of the GAP estimate added to the output.
        solver: solver settings (default :data:`~deq.models.sci.degap.SCI_SOLVER`; a dictionary overrides fields).
        warm_start: GAP-TV iterations for the start (see :class:`~deq.models.sci.degap.EquilibriumSCI`).
        accelerate: the fixed point of the accelerated GAP state (:class:`~deq.models.sci.degap.GAPMap`) instead of
            (12-13).
    """

    def __init__(
        self,
        width: int = 16,
        coeff: float = 0.5,
        skip: float = 0.5,
        solver: SolverConfig | dict[str, Any] | None = None,
        warm_start: int = 0,
        accelerate: bool = False,
    ) -> None:
        super().__init__(RNNMap(BiRNN(width, coeff, skip), accelerate), solver, warm_start)
