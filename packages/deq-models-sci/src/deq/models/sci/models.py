"""The registered SCI models: GAP-TV and PnP-GAP / PnP-ADMM baselines, and factories for DE-GAP and DE-RNN.

Every model exposes ``reconstruct(y, operator) -> x`` with snapshots ``y [B, 1, H, W]`` and the
``deq.operators.sci.CACTI`` operator, returning the video ``[B, 1, T, H, W]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.errors import WeightsError
from deq.core.operator import LinearOperator
from deq.models.sci import gap
from deq.models.sci.video import as_video_denoiser

#: PnP-SCI's decreasing noise schedule for GAP-FFDNet (sigma 50, 25, 12, 6 over 255, 10 iterations each)
PNP_SIGMAS = (50 / 255, 25 / 255, 12 / 255, 6 / 255)
PNP_ITERS = (10, 10, 10, 10)
#: deq-priors' shipped noise-level-conditioned grayscale denoiser used by PnP-GAP / PnP-ADMM
AWGN_WEIGHTS = "ffdnet-gray"
#: DE-GAP's fast inference settings (``create("model", "de-gap", pretrained=True, **FAST_DEGAP)``), chosen on
#: held-out synthetic clips (docs/sci.md): start from 30 GAP-TV iterations, evaluate the map in bfloat16 in the
#: forward solve (a CPU with AVX512-BF16 / AMX, or a GPU), stop at a relative residual of 5e-3 or after 10
#: applications of the map (the bfloat16 rounding can hold the residual near 5e-3)
FAST_DEGAP: dict[str, Any] = {
    "warm_start": 30,
    "solver": {"forward_autocast": "bfloat16", "tol": 5e-3, "eval_max_iter": 10},
}


#: DE-RNN's inference settings (``create("model", "de-rnn", pretrained=True, **DERNN_START)``), chosen on the same
#: held-out clips as FAST_DEGAP from the grid of docs/benchmarks.md ("sci-fast"): start from 50 GAP-TV iterations
#: instead of ``x^(0)`` and stop at a relative residual of 1e-3 (trained: 1e-4). The shipped map's Lipschitz
#: constant is about 1, so the stopping rule leaves the solve at a point that depends on the start; GAP-TV's is
#: nearer the truth, and from there a third of the map applications suffice.
DERNN_START: dict[str, Any] = {
    "warm_start": 50,
    "solver": {"tol": 1e-3, "eval_max_iter": 30},
}
#: DE-GAP with the accelerated GAP state (``create("model", "de-gap", pretrained=True, **ACCEL_DEGAP)``): the fixed
#: point of (8')-(9), whose data residual is zero (:class:`~deq.models.sci.degap.GAPMap`), from 50
#: GAP-TV iterations, stopped at a relative residual of 1e-3 or after 30 applications of the map; chosen on the same
#: held-out clips as FAST_DEGAP from the grid of docs/benchmarks.md ("sci-accelerated"). The solve seldom reaches
#: the tolerance in 30 applications and was better stopped there than at 60.
ACCEL_DEGAP: dict[str, Any] = {
    "accelerate": True,
    "warm_start": 50,
    "solver": {"tol": 1e-3, "eval_max_iter": 30},
}
#: DE-RNN in the same accelerated GAP state (``create("model", "de-rnn", pretrained=True, **ACCEL_DERNN)``), the same
#: weights, from 50 GAP-TV iterations at its trained tolerance 1e-4 and cap of 30; chosen from the DE-RNN grid of the
#: "sci-accelerated" section by the same rule
ACCEL_DERNN: dict[str, Any] = {
    "accelerate": True,
    "warm_start": 50,
    "solver": {"tol": 1e-4, "eval_max_iter": 30},
}
#: DE-GAP under 2 s per 256x256x8 measurement on a 2-core CPU without bfloat16 (``deq reconstruct sci --quick``): the
#: shipped weights trained in the accelerated state (``degap_cnn_accel.pt``) run as ``warm_start`` GAP-TV iterations
#: and then ``applications`` plain applications of the map, the last iterate returned
#: (``model.iterate(y, op, applications)``; no solve, no convergence claim); chosen on held-out synthetic clips
#: from the grid of docs/benchmarks.md ("sci-accel-plain")
ACCEL_PLAIN: dict[str, int] = {"warm_start": 30, "applications": 2}
#: the inference presets of ``--accelerated`` by model (de-gap's goes with the weights trained in that state)
ACCEL_PRESETS: dict[str, dict[str, Any]] = {"de-gap": ACCEL_DEGAP, "de-rnn": ACCEL_DERNN}
#: the inference presets of ``--fast`` by model
FAST_PRESETS: dict[str, dict[str, Any]] = {"de-gap": FAST_DEGAP, "de-rnn": DERNN_START}


def describe_fast_settings(preset: dict[str, Any] = FAST_DEGAP) -> str:
    """A short description of DE-GAP or DE-RNN inference settings ``preset`` (``warm_start`` and ``solver`` as in
    :data:`FAST_DEGAP`), read from the preset itself: the bench's row name and the CLI's ``--fast`` help."""
    solver = preset["solver"]
    precision = solver.get("forward_autocast") or "float32"
    state = "accelerated GAP state, " if preset.get("accelerate") else ""
    return state + (
        f"GAP-TV start {preset['warm_start']}, {precision} solve, tol {solver['tol']:g}, <= {solver['eval_max_iter']} iterations"
    )


class MissingWeightsError(WeightsError):
    """Shipped weights a model needs are not installed; the message names them and the remedy."""


class GapTV(nn.Module):
    """GAP-TV (Yuan 2016; Zhao et al. eq. 8-9 with a TV denoiser): accelerated GAP (8') alternated with
    ``tv_iter`` iterations of an inexact isotropic TV prox of weight ``tv_weight``: Chambolle's projection
    algorithm (deq-priors' ``tv_chambolle``, the step the authors' PnP-SCI code takes through scikit-image) or
    FGP (``tv_prox``).

    Args:
        n_iter: GAP iterations.
        tv_weight: TV weight on the ``[0, 1]`` intensity scale.
        tv_iter: inner TV iterations per GAP step (an inexact prox, as in PnP-SCI).
        spatio_temporal: 3-D (T, H, W) TV instead of frame-wise 2-D TV.
        accelerate: the accelerated GAP (8') of Yuan (2016).
        tv_solver: ``"chambolle"`` (default) or ``"fgp"`` (fast gradient projection, Beck & Teboulle 2009).
        pretrained, weights: the common model keywords; GAP-TV learns nothing, so ``pretrained`` changes
            nothing and ``weights`` is an error.

    The defaults are PnP-SCI's benchmark settings (40 iterations, weight 0.3, 5 inner iterations, 2-D TV
    per frame).
    """

    def __init__(
        self,
        n_iter: int = 40,
        tv_weight: float = 0.3,
        tv_iter: int = 5,
        spatio_temporal: bool = False,
        accelerate: bool = True,
        tv_solver: str = "chambolle",
        *,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if weights is not None:
            raise ValueError("gap-tv has no learned weights; weights=... does not apply")
        if tv_solver not in ("chambolle", "fgp"):
            raise ValueError(f"GapTV: tv_solver must be 'chambolle' or 'fgp', got {tv_solver!r}")
        self.tv_solver = tv_solver
        if n_iter < 1 or tv_weight < 0 or tv_iter < 1:
            raise ValueError(f"GapTV: need n_iter >= 1, tv_weight >= 0, tv_iter >= 1; got {n_iter}, {tv_weight}, {tv_iter}")
        self.n_iter, self.tv_weight, self.tv_iter = n_iter, tv_weight, tv_iter
        self.spatio_temporal, self.accelerate = spatio_temporal, accelerate

    def denoise(self, v: Tensor, weight: float) -> Tensor:
        """TV prox of a video ``[B, 1, T, H, W]`` (3-D, or 2-D on every frame)."""
        from deq.priors.tv import tv_chambolle, tv_prox

        def prox(u: Tensor) -> Tensor:
            if self.tv_solver == "chambolle":
                return tv_chambolle(u, weight, n_iter=self.tv_iter)
            return tv_prox(u, weight, n_iter=self.tv_iter, tol=0.0)

        if self.spatio_temporal:
            return prox(v)
        b, c, t, h, w = v.shape
        return prox(v.transpose(1, 2).reshape(b * t, c, h, w)).reshape(b, t, c, h, w).transpose(1, 2)

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        schedule = [self.tv_weight] * self.n_iter
        return gap.pnp_gap(operator, y, self.denoise, schedule, accelerate=self.accelerate, callback=callback)


class _PnP(nn.Module):
    """Plug-and-play with a noise-level-conditioned AWGN denoiser and a decreasing ``sigma`` schedule.

    The denoiser is ``denoiser``, or the file ``weights`` (a deq prior weight file or a published FFDNet / DnCNN
    checkpoint, :func:`deq.priors.published.load_denoiser`), or by default deq-priors' shipped AWGN denoiser; its
    only learned part is that pretrained denoiser, so ``pretrained`` changes nothing."""

    def __init__(
        self,
        denoiser: nn.Module | None = None,
        sigmas: Sequence[float] = PNP_SIGMAS,
        iters: Sequence[int] | int = PNP_ITERS,
        radius: int = 0,
        *,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if weights is not None and denoiser is not None:
            raise ValueError("pass either denoiser=... or weights=... (a denoiser weight file), not both")
        if weights is not None:
            from deq.priors.published import load_denoiser

            denoiser = load_denoiser(weights)
        if denoiser is None:
            denoiser = load_awgn_denoiser()
        self.denoiser = as_video_denoiser(denoiser, radius=radius).eval()
        self.schedule = gap.expand_schedule(sigmas, iters)

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
        *,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__(denoiser, sigmas, iters, radius, pretrained=pretrained, weights=weights)
        self.accelerate = accelerate

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        return gap.pnp_gap(operator, y, self.denoise, self.schedule, accelerate=self.accelerate, callback=callback)


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
        *,
        pretrained: bool = False,
        weights: str | None = None,
    ) -> None:
        super().__init__(denoiser, sigmas, iters, radius, pretrained=pretrained, weights=weights)
        self.gamma = gamma

    def reconstruct(self, y: Tensor, operator: LinearOperator, callback: Callable[[int, Tensor], None] | None = None) -> Tensor:
        return gap.pnp_admm(operator, y, self.denoise, self.schedule, gamma=self.gamma, callback=callback)


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


def _pretrained(
    name: str,
    pretrained: bool,
    weights: str | None,
    solver: dict[str, Any] | None,
    fixed: dict[str, Any],
    **settings: Any,
):
    """The trained model ``name`` from ``weights`` (default: the shipped file), or ``None`` when not pretrained;
    architecture options given together with weights are an error (the file fixes them); ``solver`` and the
    ``settings`` given (``warm_start``, ``accelerate``), which say how the equilibrium is found, override the stored
    ones."""
    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} is only read with pretrained=True")
    if not pretrained:
        return None
    given = sorted(k for k, v in fixed.items() if v is not None)
    if given:
        raise ValueError(f"{name}: {given} are fixed by the weight file when pretrained=True; pass only solver=...")
    from deq.models.sci.weights import load_weights

    settings = {k: v for k, v in settings.items() if v is not None}
    return load_weights(weights, model=name, settings=settings, **(solver or {}))


def de_gap(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    denoiser: str | None = None,
    denoiser_options: dict[str, Any] | None = None,
    radius: int | None = None,
    denoiser_sigma: float | None = None,
    solver: dict[str, Any] | None = None,
    warm_start: int | None = None,
    accelerate: bool | None = None,
) -> nn.Module:
    """DE-GAP (:class:`deq.models.sci.degap.DEGAP`). With ``pretrained`` the shipped weights or the file
    ``weights`` (``solver`` overrides stored solver settings); else a fresh network: deq-priors' image denoiser
    ``denoiser`` with ``denoiser_options`` on ``2 radius + 1``-frame windows (default: the shipped architecture,
    :data:`~deq.models.sci.weights.DEFAULT_DENOISER`), ``denoiser_sigma`` the fixed noise level given to a
    noise-conditioned denoiser (DE-GAP-FFDnet), solver settings ``solver`` over
    :data:`~deq.models.sci.degap.SCI_SOLVER`. ``warm_start``: GAP-TV iterations for the start (default 0, the
    normalised measurement; :class:`~deq.models.sci.degap.EquilibriumSCI`). ``accelerate``: the fixed point of the
    accelerated GAP (8') with the same denoiser (default False, the paper's map (14-15);
    :class:`~deq.models.sci.degap.GAPMap`)."""
    from deq.models.sci.degap import DEGAP
    from deq.models.sci.weights import DEFAULT_DENOISER, DEFAULT_DENOISER_OPTIONS, DEFAULT_RADIUS, build_denoiser

    fixed = {"denoiser": denoiser, "denoiser_options": denoiser_options, "radius": radius, "denoiser_sigma": denoiser_sigma}
    trained = _pretrained("de-gap", pretrained, weights, solver, fixed, warm_start=warm_start, accelerate=accelerate)
    if trained is not None:
        return trained
    name = DEFAULT_DENOISER if denoiser is None else denoiser
    if denoiser_options is None:
        denoiser_options = DEFAULT_DENOISER_OPTIONS if name == DEFAULT_DENOISER else {}
    radius = DEFAULT_RADIUS if radius is None else radius
    return DEGAP(build_denoiser(name, denoiser_options, radius, denoiser_sigma), solver, warm_start or 0, bool(accelerate))


def de_rnn(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    width: int | None = None,
    coeff: float | None = None,
    skip: float | None = None,
    solver: dict[str, Any] | None = None,
    warm_start: int | None = None,
    accelerate: bool | None = None,
) -> nn.Module:
    """DE-RNN (:class:`deq.models.sci.dernn.DERNN`). With ``pretrained`` the shipped weights or the file
    ``weights`` (``solver``, ``warm_start`` and ``accelerate`` override the stored settings); else a fresh network
    with the given ``width``, ``coeff`` and ``skip`` (defaults of :class:`~deq.models.sci.dernn.DERNN`).
    ``accelerate``: the fixed point of the accelerated GAP state (:class:`~deq.models.sci.degap.GAPMap`)."""
    from deq.models.sci.dernn import DERNN

    fixed = {"width": width, "coeff": coeff, "skip": skip}
    trained = _pretrained("de-rnn", pretrained, weights, solver, fixed, warm_start=warm_start, accelerate=accelerate)
    if trained is not None:
        return trained
    arch = {k: v for k, v in fixed.items() if v is not None}
    return DERNN(**arch, solver=solver, warm_start=warm_start or 0, accelerate=bool(accelerate))
