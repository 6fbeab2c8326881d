"""The registered SCI models: GAP-TV and PnP-GAP / PnP-ADMM baselines, and factories for DE-GAP and DE-RNN.

Every model exposes ``reconstruct(y, operator) -> x`` with snapshots ``y [B, 1, H, W]`` and the
``deq.operators.sci.CACTI`` operator, returning the video ``[B, 1, T, H, W]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from deq.core.errors import WeightsError
from deq.core.operator import LinearOperator
from deq.models.sci.gap import expand_schedule, pnp_admm, pnp_gap
from deq.models.sci.video import as_video_denoiser

#: PnP-SCI's decreasing noise schedule for GAP-FFDNet (sigma 50, 25, 12, 6 over 255, 10 iterations each)
PNP_SIGMAS = (50 / 255, 25 / 255, 12 / 255, 6 / 255)
PNP_ITERS = (10, 10, 10, 10)
#: deq-priors' shipped noise-level-conditioned grayscale denoiser used by PnP-GAP / PnP-ADMM
AWGN_WEIGHTS = "ffdnet-gray"


class MissingWeightsError(WeightsError):
    """Shipped weights a model needs are not installed; the message names them and the remedy."""


class GapTV(nn.Module):
    """GAP-TV (Yuan 2016; Zhao et al. eq. 8-9 with a TV denoiser): accelerated GAP (8') alternated with
    ``tv_iter`` FGP iterations of the isotropic TV prox of weight ``tv_weight`` (deq-priors' ``tv_prox``).

    Args:
        n_iter: GAP iterations.
        tv_weight: TV weight on the ``[0, 1]`` intensity scale.
        tv_iter: inner TV iterations per GAP step (an inexact prox, as in PnP-SCI).

    The defaults are PnP-SCI's benchmark settings (40 iterations, weight 0.3, 5 inner iterations, 2-D TV
    per frame).
        spatio_temporal: 3-D (T, H, W) TV instead of frame-wise 2-D TV.
        accelerate: the accelerated GAP (8') of Yuan (2016).
    """

    def __init__(
        self, n_iter: int = 40, tv_weight: float = 0.3, tv_iter: int = 5, spatio_temporal: bool = False, accelerate: bool = True
    ) -> None:
        super().__init__()
        if n_iter < 1 or tv_weight < 0 or tv_iter < 1:
            raise ValueError(f"GapTV: need n_iter >= 1, tv_weight >= 0, tv_iter >= 1; got {n_iter}, {tv_weight}, {tv_iter}")
        self.n_iter, self.tv_weight, self.tv_iter = n_iter, tv_weight, tv_iter
        self.spatio_temporal, self.accelerate = spatio_temporal, accelerate

    def denoise(self, v: Tensor, weight: float) -> Tensor:
        """TV prox of a video ``[B, 1, T, H, W]`` (3-D, or 2-D on every frame)."""
        from deq.priors.tv import tv_prox

        if self.spatio_temporal:
            return tv_prox(v, weight, n_iter=self.tv_iter, tol=0.0)
        b, c, t, h, w = v.shape
        frames = v.transpose(1, 2).reshape(b * t, c, h, w)
        return tv_prox(frames, weight, n_iter=self.tv_iter, tol=0.0).reshape(b, t, c, h, w).transpose(1, 2)

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        schedule = [self.tv_weight] * self.n_iter
        return pnp_gap(operator, y, self.denoise, schedule, accelerate=self.accelerate, callback=callback)


class _PnP(nn.Module):
    """Plug-and-play with a noise-level-conditioned AWGN denoiser and a decreasing ``sigma`` schedule."""

    def __init__(
        self,
        denoiser: nn.Module | None = None,
        sigmas: Sequence[float] = PNP_SIGMAS,
        iters: Sequence[int] | int = PNP_ITERS,
        radius: int = 0,
    ) -> None:
        super().__init__()
        if denoiser is None:
            denoiser = load_awgn_denoiser()
        self.denoiser = as_video_denoiser(denoiser, radius=radius).eval()
        self.schedule = expand_schedule(sigmas, iters)

    @torch.no_grad()
    def denoise(self, v: Tensor, sigma: float) -> Tensor:
        return self.denoiser(v, sigma)


class PnPGAP(_PnP):
    """PnP-GAP (Zhao et al. eq. 8-9; Yuan et al. 2020): accelerated GAP (8') + a deq-priors AWGN denoiser,
    frame by frame, with ``sigma`` decreasing along ``sigmas`` (``iters`` iterations each).

    ``denoiser=None`` loads deq-priors' shipped noise-level-conditioned grayscale denoiser."""

    def __init__(
        self,
        denoiser: nn.Module | None = None,
        sigmas: Sequence[float] = PNP_SIGMAS,
        iters: Sequence[int] | int = PNP_ITERS,
        radius: int = 0,
        accelerate: bool = True,
    ) -> None:
        super().__init__(denoiser, sigmas, iters, radius)
        self.accelerate = accelerate

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        return pnp_gap(operator, y, self.denoise, self.schedule, accelerate=self.accelerate, callback=callback)


class PnPADMM(_PnP):
    """PnP-ADMM (Zhao et al. eq. 4-7) with the same denoiser and schedule as :class:`PnPGAP`; ``gamma``
    weighs the closed-form data prox."""

    def __init__(
        self,
        denoiser: nn.Module | None = None,
        sigmas: Sequence[float] = PNP_SIGMAS,
        iters: Sequence[int] | int = PNP_ITERS,
        radius: int = 0,
        gamma: float = 0.01,
    ) -> None:
        super().__init__(denoiser, sigmas, iters, radius)
        self.gamma = gamma

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        return pnp_admm(operator, y, self.denoise, self.schedule, gamma=self.gamma, callback=callback)


def load_awgn_denoiser(name: str = AWGN_WEIGHTS) -> nn.Module:
    """deq-priors' shipped noise-level-conditioned grayscale AWGN denoiser (``load_pretrained(name)``).

    Raises:
        MissingWeightsError: deq-priors does not ship (or cannot read) those weights; says what to do.
    """
    try:
        from deq.priors.weights import load_pretrained

        return load_pretrained(name)
    except (ImportError, ValueError, RuntimeError) as exc:  # WeightsError is a RuntimeError
        raise MissingWeightsError(
            f"PnP needs deq-priors' shipped AWGN denoiser {name!r}, which is not available here "
            f"({type(exc).__name__}: {exc}); pass denoiser=... explicitly"
        ) from exc


def _check_weights(name: str, pretrained: bool, weights: str | None) -> None:
    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} is only read with pretrained=True")


def de_gap(pretrained: bool = True, weights: str | None = None, **options) -> nn.Module:
    """DE-GAP (:class:`deq.models.sci.degap.DEGAP`): with ``pretrained`` the shipped weights or ``weights``
    (:func:`deq.models.sci.weights.load_weights`; ``options`` are solver overrides), else a fresh network built
    from ``options`` (:func:`deq.models.sci.weights.build_degap`)."""
    from deq.models.sci.weights import build_degap, load_weights

    _check_weights("de-gap", pretrained, weights)
    return load_weights(weights, model="de-gap", **options) if pretrained else build_degap(**options)


def de_rnn(pretrained: bool = False, weights: str | None = None, **options) -> nn.Module:
    """DE-RNN (:class:`deq.models.sci.dernn.DERNN`): with ``pretrained`` the shipped weights or ``weights``
    (:func:`deq.models.sci.weights.load_weights`; ``options`` are solver overrides), else a fresh network built
    from ``options`` (``width``, ``coeff``, ``skip``, ``config``)."""
    from deq.models.sci.dernn import DERNN
    from deq.models.sci.weights import load_weights

    _check_weights("de-rnn", pretrained, weights)
    return load_weights(weights, model="de-rnn", **options) if pretrained else DERNN(**options)
