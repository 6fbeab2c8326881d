"""Non-Cartesian MRI through sigpy's NUFFT (extra ``nufft``): ``y = W^{1/2} F_NU x``.

``F_NU`` is sigpy's non-uniform FFT (Kaiser-Bessel gridding, oversampling 1.25, width 4; centred and
orthonormally scaled like ``sigpy.fft``) at k-space locations ``coord [K, 2]`` in units of cycles per
field of view, within ``[-H/2, H/2] x [-W/2, W/2]``. ``W`` is an optional density-compensation weighting,
put symmetrically in the operator (``sqrt(w)``) so that its adjoint stays exact: with it, ``A^H y`` is the
density-compensated gridding reconstruction and ``A^H A`` is better conditioned.

sigpy runs on numpy: the operator is wrapped in a ``torch.autograd.Function`` whose backward is the adjoint
(``deq.operators.numpy_bridge``). Users pass complex tensors ``x [B, 1, H, W]``; ``y`` is ``[B, 1, K]``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from deq.core.operator import LinearOperator
from deq.operators.batching import check_finite
from deq.operators.extras import require
from deq.operators.numpy_bridge import linear_function

DENSITIES = ("none", "ramp", "pipe")


def radial_trajectory(n_spokes: int, n_readout: int, *, golden: bool = False) -> Tensor:
    """Radial spokes through the centre, ``[n_spokes * n_readout, 2]`` float32 in ``[-n_readout/2, n_readout/2)``:
    angles equally spaced in ``[0, pi)`` or golden-angle (111.25 deg) increments."""
    if n_spokes < 1 or n_readout < 2:
        raise ValueError(f"radial_trajectory: need n_spokes >= 1 and n_readout >= 2, got {n_spokes}, {n_readout}")
    step = math.pi * (math.sqrt(5) - 1) / 2 if golden else math.pi / n_spokes
    angles = torch.arange(n_spokes, dtype=torch.float64) * step
    r = torch.arange(n_readout, dtype=torch.float64) - n_readout / 2
    kx = r[None, :] * torch.cos(angles)[:, None]
    ky = r[None, :] * torch.sin(angles)[:, None]
    return torch.stack([kx, ky], dim=-1).reshape(-1, 2).float()


def spiral_trajectory(size: int, n_interleaves: int, n_readout: int, *, turns: float | None = None) -> Tensor:
    """Archimedean spiral ``k(t) = (size/2) t exp(i (2 pi turns t + 2 pi l / L))``, ``t in [0, 1)``, ``L``
    interleaves; ``[L * n_readout, 2]`` float32. ``turns`` defaults to ``size / (2 L)`` (Nyquist in radius)."""
    if n_interleaves < 1 or n_readout < 2:
        raise ValueError(f"spiral_trajectory: need n_interleaves >= 1 and n_readout >= 2, got {n_interleaves}, {n_readout}")
    turns = size / (2 * n_interleaves) if turns is None else turns
    t = torch.arange(n_readout, dtype=torch.float64) / n_readout
    phase = (
        2 * math.pi * turns * t[None, :] + 2 * math.pi * torch.arange(n_interleaves, dtype=torch.float64)[:, None] / n_interleaves
    )
    radius = (size / 2) * t[None, :]
    return torch.stack([radius * torch.cos(phase), radius * torch.sin(phase)], dim=-1).reshape(-1, 2).float()


class NUFFTMRI(LinearOperator):
    """``y = sqrt(w) ⊙ F_NU x``: ``x [B, 1, H, W]`` complex -> ``y [B, 1, K]`` complex.

    Args:
        coord: k-space locations ``[K, 2]`` (or ``[..., 2]``, flattened), units of 1/FOV.
        image_size: ``(H, W)``.
        density: ``"none"``, ``"ramp"`` (``|k|``, for radial), ``"pipe"`` (Pipe-Menon iterative weights,
            sigpy) or a ``[K]`` tensor of non-negative weights; scaled to a maximum of 1.
        oversamp, width: sigpy's NUFFT grid oversampling and kernel width.
    """

    def __init__(
        self,
        coord: Tensor,
        image_size: tuple[int, int],
        *,
        density: str | Tensor = "none",
        oversamp: float = 1.25,
        width: int = 4,
    ) -> None:
        require("sigpy", "nufft", "NUFFTMRI")
        c = check_finite(torch.as_tensor(coord, dtype=torch.float64), "coord", "NUFFTMRI")
        if c.shape[-1] != 2:
            raise ValueError(f"NUFFTMRI: coord must be [K, 2] k-space locations, got shape {list(c.shape)}")
        c = c.reshape(-1, 2)
        h, w = image_size
        limit = torch.tensor([h / 2, w / 2], dtype=torch.float64)
        if bool((c.abs() > limit + 1e-6).any()):
            raise ValueError(f"NUFFTMRI: coord must lie in [-{h / 2}, {h / 2}] x [-{w / 2}, {w / 2}] (units of 1/FOV)")
        super().__init__((1, h, w), (1, c.shape[0]), input_kind="complex", output_kind="complex")
        self.image_size = (h, w)
        self.oversamp = oversamp
        self.width = width
        self.register_buffer("coord", c)
        self.register_buffer("sqrt_density", self._density(density, c).sqrt())

    def _density(self, density: str | Tensor, coord: Tensor) -> Tensor:
        if isinstance(density, Tensor):
            weights = check_finite(density.to(torch.float64).reshape(-1), "density", "NUFFTMRI")
            if weights.shape[0] != coord.shape[0] or bool((weights < 0).any()):
                raise ValueError(
                    f"NUFFTMRI: density must be [K={coord.shape[0]}] non-negative weights, got {list(density.shape)}"
                )
        elif density == "none":
            return torch.ones(coord.shape[0], dtype=torch.float64)
        elif density == "ramp":
            weights = coord.norm(dim=1).clamp(min=0.5)
        elif density == "pipe":
            mri = require("sigpy.mri", "nufft", "NUFFTMRI")
            weights = torch.from_numpy(np.abs(mri.pipe_menon_dcf(coord.numpy(), self.image_size, show_pbar=False)))
        else:
            raise ValueError(f"NUFFTMRI: density must be one of {DENSITIES} or a [K] tensor, got {density!r}")
        return weights / weights.max()

    def _numpy_forward(self, x: Tensor) -> Tensor:
        sigpy = require("sigpy", "nufft", "NUFFTMRI")
        b = x.shape[0]
        y = sigpy.nufft(x.cpu().numpy().reshape(b, *self.image_size), self.coord.cpu().numpy(), self.oversamp, self.width)
        y = torch.from_numpy(np.asarray(y)).to(device=x.device, dtype=x.dtype).reshape(b, 1, -1)
        return y * self.sqrt_density.to(device=x.device, dtype=y.real.dtype)

    def _numpy_adjoint(self, y: Tensor) -> Tensor:
        sigpy = require("sigpy", "nufft", "NUFFTMRI")
        b = y.shape[0]
        weighted = (y * self.sqrt_density.to(device=y.device, dtype=y.real.dtype)).reshape(b, -1)
        x = sigpy.nufft_adjoint(
            weighted.cpu().numpy(), self.coord.cpu().numpy(), (b, *self.image_size), self.oversamp, self.width
        )
        return torch.from_numpy(np.asarray(x)).to(device=y.device, dtype=y.dtype).reshape(b, 1, *self.image_size)

    def _forward(self, x: Tensor) -> Tensor:
        return linear_function(x, self._numpy_forward, self._numpy_adjoint)

    def _adjoint(self, y: Tensor) -> Tensor:
        return linear_function(y, self._numpy_adjoint, self._numpy_forward)
