"""Seeded noise models ``y -> y + n``: additive white Gaussian and Poisson (shot) noise.

Each model owns a ``torch.Generator`` seeded at construction, so a model built with the same seed draws
the same noise; :meth:`reset` restarts the sequence.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _Seeded(nn.Module):
    def __init__(self, seed: int | None) -> None:
        super().__init__()
        self.seed = int(torch.seed() % (2**63)) if seed is None else int(seed)
        self._generators: dict[torch.device, torch.Generator] = {}

    def reset(self) -> None:
        """Restart the noise sequence from the seed."""
        self._generators.clear()

    def _generator(self, device: torch.device) -> torch.Generator:
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]


class GaussianNoise(_Seeded):
    """``y + sigma * n`` with ``n`` standard normal (complex ``y``: ``E|n|^2 = 1``, i.e. variance 1/2 per
    real/imaginary part).

    Args:
        sigma: standard deviation (``>= 0``), a float or a per-sample ``[B]`` tensor at call time.
        seed: generator seed (``None``: a random one, recorded in ``self.seed``).
    """

    def __init__(self, sigma: float, seed: int | None = None) -> None:
        super().__init__(seed)
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma must be >= 0, got {sigma}")
        self.sigma = float(sigma)

    def forward(self, y: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        """Noisy copy of ``y [B, ...]`` (``sigma`` overrides the default for this call)."""
        s = self.sigma if sigma is None else sigma
        if isinstance(s, Tensor):
            if bool((s < 0).any()):
                raise ValueError("GaussianNoise: sigma must be >= 0")
            s = s.to(device=y.device, dtype=y.real.dtype if y.is_complex() else y.dtype).reshape(-1, *([1] * (y.dim() - 1)))
        n = torch.randn(y.shape, dtype=y.dtype, device=y.device, generator=self._generator(y.device))
        return y + s * n


class PoissonNoise(_Seeded):
    """``y = gain * Poisson(x / gain)``: photon counts with mean ``x / gain``, rescaled (mean ``x``,
    variance ``gain * x``).

    Args:
        gain: positive; smaller means fewer photon-counting errors.
        seed: generator seed.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        if gain <= 0:
            raise ValueError(f"PoissonNoise: gain must be positive, got {gain}")
        self.gain = float(gain)

    def forward(self, x: Tensor) -> Tensor:
        """Noisy copy of the non-negative real ``x [B, ...]``."""
        if x.is_complex() or not x.is_floating_point():
            raise TypeError(f"PoissonNoise: expected a real floating-point tensor, got {x.dtype}")
        if bool((x < 0).any()):
            raise ValueError("PoissonNoise: expected non-negative intensities x >= 0")
        return self.gain * torch.poisson(x / self.gain, generator=self._generator(x.device))
