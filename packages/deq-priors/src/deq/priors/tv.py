"""Isotropic total-variation proximal operator (Beck & Teboulle 2009, fast gradient projection "FGP").

``tv_prox(y, w)`` solves, per sample and per channel,

    x* = argmin_x  1/2 ||x - y||^2 + w TV(x),      TV(x) = sum_i sqrt( sum_d (D_d x)_i^2 )        (1)

with forward differences ``D_d`` (Neumann boundary: the last difference along each axis is zero) along
the image axes: ``(H, W)`` for ``[B, C, H, W]``, ``(T, H, W)`` for ``[B, C, T, H, W]`` (spatio-temporal
TV, as used by GAP-TV for video SCI). It runs FISTA on the dual (Beck & Teboulle 2009, eq. 4.4 and
Algorithm FGP)

    min_{|p_i| <= 1}  1/2 || y - w D^T p ||^2,        x = y - w D^T p,                             (2)

with step ``1 / (w ||D||^2)``, ``||D||^2 <= 4 * ndim``. The duality gap
``P(x(p)) - Dual(p) >= P(x(p)) - P(x*)`` certifies the accuracy of any iterate (:func:`tv_duality_gap`).
``w`` matches the ``weight`` of ``skimage.restoration.denoise_tv_chambolle`` (same problem (1)).
:func:`tv_chambolle` is Chambolle's (2004) projection algorithm with scikit-image's iteration and stopping rule
(what the authors' GAP-TV runs for 5 iterations per GAP step).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from deq.priors.base import check_image


def _dims(x: Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.dim()))


def tv_grad(x: Tensor) -> Tensor:
    """Forward differences ``D x``: ``[B, C, *S] -> [len(S), B, C, *S]`` (last difference per axis is 0)."""
    out = x.new_zeros((x.dim() - 2, *x.shape))
    for k, d in enumerate(_dims(x)):
        out[k].narrow(d, 0, x.shape[d] - 1).copy_(torch.diff(x, dim=d))
    return out


def tv_grad_adjoint(p: Tensor) -> Tensor:
    """The exact adjoint ``D^T p`` of :func:`tv_grad` (``= -div p``): ``[len(S), B, C, *S] -> [B, C, *S]``."""
    out = torch.zeros_like(p[0])
    for k, d in enumerate(range(2, p.dim() - 1)):
        n = p.shape[d + 1]
        q = p[k].narrow(d, 0, n - 1)
        out.narrow(d, 1, n - 1).add_(q)
        out.narrow(d, 0, n - 1).sub_(q)
    return out


def total_variation(x: Tensor) -> Tensor:
    """Isotropic TV (1) per sample, summed over channels: ``[B, C, *S] -> [B]``."""
    return tv_grad(x).pow(2).sum(0).sqrt().flatten(1).sum(1)


def _weight(weight: float | Tensor, y: Tensor) -> Tensor:
    w = torch.as_tensor(weight, dtype=y.dtype, device=y.device)
    if w.dim() == 0:
        w = w.expand(y.shape[0])
    if w.shape != (y.shape[0],):
        raise ValueError(f"tv_prox: weight must be a float or a [B] tensor with B={y.shape[0]}, got shape {list(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError(f"tv_prox: weight must be >= 0, got {w.tolist()}")
    return w.reshape(-1, *([1] * (y.dim() - 1)))


def tv_prox_dual(y: Tensor, weight: float | Tensor, n_iter: int = 100, tol: float = 1e-4) -> tuple[Tensor, Tensor, int]:
    """FGP for (1): returns ``(x, p, iterations)`` with the dual variable ``p`` ``[ndim, B, C, *S]``.

    Stops after ``n_iter`` iterations or when every sample's relative change
    ``||x_k - x_{k-1}|| / ||x_k||`` drops below ``tol``.
    """
    check_image(y, "tv_prox", ndim=(4, 5))
    if n_iter < 1:
        raise ValueError(f"tv_prox: n_iter must be >= 1, got {n_iter}")
    w = _weight(weight, y)
    active = w > 0
    w_safe = torch.where(active, w, torch.ones_like(w))
    step = 1.0 / (4.0 * (y.dim() - 2) * w_safe)  # 1 / (w ||D||^2)
    p = y.new_zeros((y.dim() - 2, *y.shape))
    r, t = p, 1.0
    x_prev = y
    it = 0
    for it in range(1, n_iter + 1):  # noqa: B007 (returned: the iterations done)
        x = y - w_safe * tv_grad_adjoint(r)
        q = r + step * tv_grad(x)
        p_new = q / q.pow(2).sum(0, keepdim=True).sqrt().clamp_min(1.0)
        t_new = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        r = p_new + ((t - 1.0) / t_new) * (p_new - p)
        p, t = p_new, t_new
        x = y - w_safe * tv_grad_adjoint(p)
        change = (x - x_prev).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(1e-12)
        x_prev = x
        if tol > 0 and bool((change < tol).all()):
            break
    x = torch.where(active, x_prev, y)
    return x, p * active.unsqueeze(0), it


def tv_prox(y: Tensor, weight: float | Tensor, n_iter: int = 100, tol: float = 1e-4) -> Tensor:
    """Isotropic TV proximal operator (1) of ``y`` ``[B, C, H, W]`` or ``[B, C, T, H, W]``.

    ``weight`` is ``w`` in (1): a float or a per-sample ``[B]`` tensor (``0`` returns ``y``).
    """
    return tv_prox_dual(y, weight, n_iter=n_iter, tol=tol)[0]


def tv_chambolle(y: Tensor, weight: float, n_iter: int = 200, eps: float = 2e-4) -> Tensor:
    """Chambolle's (2004) projection algorithm for (1), every ``[*S]`` slice of ``y`` ``[B, C, *S]`` on its own.

    The iteration and stopping rule of ``skimage.restoration.denoise_tv_chambolle`` (per channel), which the
    authors' GAP-TV calls with 5 iterations (PnP-SCI): with ``tau = 1 / (2 ndim)``,

        x_k = y + D^T p_k,      p_{k+1} = (p_k - tau D x_k) / (1 + (tau / w) |D x_k|),                      (3)

    returning ``x_k`` of the last iteration run; a slice stops when its energy
    ``E_k = (||D^T p_k||^2 + w TV(x_k)) / n`` changes by less than ``eps E_0``. Equal to scikit-image's output to
    round-off (tested); batched over every slice on the tensors' device. With few iterations this is an inexact
    prox, as GAP-TV uses it.
    """
    check_image(y, "tv_chambolle", ndim=(4, 5))
    if n_iter < 1 or weight <= 0:
        raise ValueError(f"tv_chambolle: need n_iter >= 1 and weight > 0, got {n_iter}, {weight}")
    ndim = y.dim() - 2
    tau = 1.0 / (2.0 * ndim)
    n = math.prod(y.shape[2:])
    p = y.new_zeros((ndim, *y.shape))
    out = y
    active = torch.ones(y.shape[:2], dtype=torch.bool, device=y.device)
    e_init = e_prev = None
    for i in range(n_iter):
        d = tv_grad_adjoint(p) if i > 0 else torch.zeros_like(y)
        x = y + d
        out = torch.where(active.reshape(*active.shape, *([1] * ndim)), x, out)
        g = tv_grad(x)
        norm = g.pow(2).sum(0, keepdim=True).sqrt()
        energy = (d.pow(2).flatten(2).sum(2) + weight * norm[0].flatten(2).sum(2)) / n
        p = (p - tau * g) / (1.0 + (tau / weight) * norm)
        if i == 0:
            e_init = e_prev = energy
        else:
            active &= ~((e_prev - energy).abs() < eps * e_init)
            e_prev = energy
            if not bool(active.any()):
                break
    return out


def tv_duality_gap(y: Tensor, weight: float | Tensor, p: Tensor) -> Tensor:
    """Duality gap ``P(x(p)) - Dual(p)`` of (1)-(2) per sample ``[B]`` for a feasible dual ``p``; it bounds
    the primal suboptimality of ``x(p) = y - w D^T p``."""
    w = _weight(weight, y)
    x = y - w * tv_grad_adjoint(p)
    primal = 0.5 * (x - y).pow(2).flatten(1).sum(1) + w.flatten() * total_variation(x)
    dual = 0.5 * y.pow(2).flatten(1).sum(1) - 0.5 * x.pow(2).flatten(1).sum(1)
    return primal - dual


class TVDenoiser(nn.Module):
    """TV denoiser ``D(x, sigma=None) = prox_{w TV}(x)`` (1), 2-D ``[B, C, H, W]`` or 3-D ``[B, C, T, H, W]``.

    ``w`` is ``weight``, or ``sigma`` when given (a float or a ``[B]`` tensor). A proximal operator is
    firmly non-expansive (Lipschitz 1), hence ``lipschitz = "prox"``. Videos work too (3-D TV), so ``video`` only
    says it is not video-only.
    """

    in_channels = None
    takes_sigma = True  # optional: sigma replaces the fixed threshold / weight when given
    lipschitz = "prox"
    lipschitz_controlled = True
    video = False

    def __init__(self, weight: float = 0.1, n_iter: int = 100, tol: float = 1e-4) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f"TVDenoiser: weight must be >= 0, got {weight}")
        self.weight, self.n_iter, self.tol = weight, n_iter, tol

    def forward(self, x: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        return tv_prox(x, self.weight if sigma is None else sigma, n_iter=self.n_iter, tol=self.tol)
