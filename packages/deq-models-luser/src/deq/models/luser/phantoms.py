"""Random-ellipse CT phantoms, the training images of the CT task (LoDoPaB-CT is not available here; its
companion "ellipses" data of the dival library are random-ellipse phantoms of this kind).

:func:`ellipse_image` rasterises ellipses exactly as ODL's ``odl.phantom.ellipsoid_phantom`` does on
``uniform_discr([-1, -1], [1, 1], (N, N))`` (the values of the ellipses containing a pixel centre are added;
rows ``[value, axis_1, axis_2, center_x, center_y, rotation]`` relative to ``[-1, 1]^2``; array axis 0 is ``x``),
in torch, without ODL at run time (the tests compare the two). :func:`random_ellipses` draws the parameters:
``min(Poisson(40), 70)`` ellipses with values ``U(-0.4, 1)``, semi-axes ``0.2 Exp(1)``, centres ``U(-0.9, 0.9)^2``
and rotations ``U(0, 2 pi)``; :func:`random_phantom` then shifts the foreground (non-zero pixels) to start at 0
and scales the image to a maximum of 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.utils.data import Dataset

MAX_ELLIPSES = 70
MEAN_ELLIPSES = 40


def ellipse_image(ellipses: Tensor, size: int) -> Tensor:
    """The sum of the ellipses ``[n, 6]`` (rows ``value, axis_1, axis_2, center_x, center_y, rotation``) on a
    ``size x size`` grid of pixel centres ``linspace(-1, 1, size)`` per axis: float32 ``[size, size]``."""
    if ellipses.dim() != 2 or ellipses.shape[1] != 6:
        raise ValueError(f"ellipse_image: expected ellipses [n, 6], got shape {list(ellipses.shape)}")
    e = ellipses.to(torch.float64)
    t = torch.linspace(-1.0, 1.0, size, dtype=torch.float64)
    gx, gy = torch.meshgrid(t, t, indexing="ij")
    value, a, b, x0, y0, theta = (e[:, i, None, None] for i in range(6))
    c, s = torch.cos(theta), torch.sin(theta)
    dx, dy = gx - x0, gy - y0
    u, v = c * dx + s * dy, -s * dx + c * dy
    inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    return (value * inside).sum(0).to(torch.float32)


def random_ellipses(generator: torch.Generator) -> Tensor:
    """Parameters ``[n, 6]`` of one random phantom (see the module docstring), drawn from ``generator``."""
    rate = torch.tensor([float(MEAN_ELLIPSES)], dtype=torch.float64)
    n = min(int(torch.poisson(rate, generator=generator)), MAX_ELLIPSES)
    u = torch.rand(MAX_ELLIPSES, 5, generator=generator, dtype=torch.float64)
    exp = -torch.log1p(-torch.rand(MAX_ELLIPSES, 2, generator=generator, dtype=torch.float64))  # Exp(1)
    value = -0.4 + 1.4 * u[:, 0]
    axes = 0.2 * exp
    centre = -0.9 + 1.8 * u[:, 1:3]
    rotation = 2 * math.pi * u[:, 3]
    return torch.cat([value[:, None], axes, centre, rotation[:, None]], 1)[:n]


def random_phantom(size: int, generator: torch.Generator) -> Tensor:
    """One random-ellipse phantom ``[1, size, size]`` in ``[0, 1]`` (foreground shifted to 0, maximum 1)."""
    image = ellipse_image(random_ellipses(generator), size)
    fg = image != 0
    if bool(fg.any()):
        image[fg] -= image[fg].min()
    top = image.max()
    return (image / top if top > 0 else image)[None]


class EllipseDataset(Dataset):
    """``length`` random phantoms ``[1, size, size]``; item ``i`` is a deterministic function of ``(seed, i)``."""

    def __init__(self, size: int, length: int, seed: int = 0) -> None:
        self.size, self.length, self.seed = size, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + int(i) * 7919 + 29) & 0x7FFF_FFFF_FFFF)
        return random_phantom(self.size, g)
