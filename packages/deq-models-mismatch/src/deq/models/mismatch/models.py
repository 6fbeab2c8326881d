"""SD-RED and PnP-PGM as equilibrium models (deq-core's :class:`~deq.core.model.EquilibriumModel`), and the
factories registered as ``sd-red`` and ``pnp-pgm``.

The reconstruction is the fixed point ``x* = T(x*)`` of the map (:mod:`deq.models.mismatch.maps`), found by the
forward solver (Nesterov, Hu et al. sec. 4.1) and, in training, differentiated implicitly (eq. 9) with the
adjoint fixed point solved by Anderson acceleration. ``iterate(y, A, n)`` runs the same map as the plain PnP /
RED iteration (``n`` steps with a graph). With an AWGN denoiser this is PnP (RED); with the DEQ-trained AR
denoiser it is the paper's DEQ. Denoisers without batch norm are the default (``batch_norm=False``); a denoiser
with batch norm keeps its running statistics fixed during every solve (deq-core's ``solve_scope``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from deq.core.model import EquilibriumModel
from deq.core.operator import LinearOperator
from deq.core.solver_config import SolverConfig
from deq.models.mismatch.maps import PGMMap, SDREDMap

#: forward Nesterov (safeguarded, restarting), IFT backward by Anderson (Hu et al. sec. 4.1, eq. 9)
MISMATCH_SOLVER = SolverConfig(
    solver="nesterov",
    tol=1e-4,
    max_iter=100,
    backward="ift",
    backward_solver="anderson",
    backward_tol=1e-4,
    backward_max_iter=50,
    backward_solver_options={"m": 5},
)
#: the CS-MRI denoiser: a BN-free DnCNN (6 convolutions of 32 channels; the paper's is 17 x 64, see docs/mismatch.md)
MRI_DENOISER = ("dncnn", {"in_channels": 1, "depth": 6, "width": 32, "batch_norm": False, "bias": True})
#: the super-resolution denoiser: a BN-free colour U-Net (3 levels, 16 base channels)
SR_DENOISER = ("unet", {"in_channels": 3, "base": 16, "levels": 3, "batch_norm": False})
#: default regularisation weights (the experiments choose tau on validation data)
SD_RED_TAU = 0.2
PNP_PGM_TAU = 2.0


def sd_red_step(tau: float) -> float:
    """SD-RED's default step ``gamma = min(1, 1 / (2 tau))``: with ``||A^H A|| <= 1`` (MRI: a binary mask and the
    orthonormal FFT) and a residual ``x - D(x)`` of Jacobian spectrum in about ``[0, 1]``, the map's eigenvalues
    ``1 - gamma (a + tau r)`` stay in ``[-1/2, 1)``, where the Nesterov solver does not oscillate."""
    return min(1.0, 1.0 / (2.0 * tau))


def pnp_pgm_step(tau: float) -> float:
    """PnP-PGM's default step ``gamma = 1 / tau``: then ``gamma tau = 1`` and (5) is ``prox_{g / tau}(D(x))``, the
    classical PnP proximal-gradient iteration with ``D`` in place of a proximal operator."""
    return 1.0 / tau


def _size_multiple(denoiser: nn.Module) -> int:
    """The side multiple a denoiser needs: ``2^(levels - 1)`` for deq-priors' U-Nets, else 1."""
    from deq.priors.unet import UNet

    return 2 ** (denoiser.levels - 1) if isinstance(denoiser, UNet) else 1


class _Equilibrium(EquilibriumModel):
    """Shared by SD-RED and PnP-PGM: the solver settings (:data:`MISMATCH_SOLVER` updated by ``solver``) and the
    input checks (real images: a complex-input operator must be given as its ``real_input()`` view)."""

    map_class: type[nn.Module]

    def __init__(self, denoiser: nn.Module, gamma: float, tau: float, solver: SolverConfig | dict[str, Any] | None = None):
        config = solver if isinstance(solver, SolverConfig) else MISMATCH_SOLVER.replace(**(solver or {}))
        super().__init__(self.map_class(denoiser, gamma, tau, _size_multiple(denoiser)), config)

    @property
    def denoiser(self) -> nn.Module:
        return self.map.denoiser

    def check_inputs(self, y: Tensor, operator: LinearOperator) -> None:
        super().check_inputs(y, operator)
        if getattr(operator, "input_kind", "real") == "complex":
            raise ValueError(
                f"{type(self).__name__} reconstructs real images; got an operator on complex inputs "
                f"({type(operator).__name__}): pass its real-input view, e.g. CartesianMRI(mask).real_input()"
            )


class SDRED(_Equilibrium):
    """SD-RED (Hu et al. eq. 4) as an equilibrium model: ``x* = x* - gamma (A^H(A x* - y) + tau (x* - D(x*)))``,
    from ``x^(0) = A^H y`` (for MRI the zero-filled image ``Re(F^H P^T y)``). ``y``: the measurement of
    ``operator`` (MRI: complex k-space ``[B, 1, H, W]``); returns ``[B, C, H, W]`` real."""

    map_class = SDREDMap


class PnPPGM(_Equilibrium):
    """PnP-PGM (Hu et al. eq. 5-6) as an equilibrium model: ``x* = prox_{gamma g}(x* - gamma tau (x* - D(x*)))``.
    Starts from the bicubic upsampling of ``y`` for deq-operators' ``SuperResolution`` (``y [B, C, H/s, W/s]`` ->
    ``[B, C, H, W]``), else from ``A^H y``."""

    map_class = PGMMap

    def initial(self, y: Tensor, operator: LinearOperator) -> Tensor:
        from deq.operators.sr import SuperResolution

        if isinstance(operator, SuperResolution):
            return F.interpolate(y, scale_factor=operator.factor, mode="bicubic", align_corners=False)
        return operator.adjoint(y)


def _denoiser(denoiser: str, options: dict[str, Any] | None, default: tuple[str, dict[str, Any]]) -> nn.Module:
    from deq.core.registry import create

    if options is None:
        options = default[1] if denoiser == default[0] else {}
    return create("prior", denoiser, **options)


def _build(
    cls: type[_Equilibrium],
    name: str,
    default: tuple[str, dict[str, Any]],
    default_tau: float,
    step: Callable[[float], float],
    pretrained: bool,
    weights: str | None,
    prior: str | None,
    denoiser: str | None,
    denoiser_options: dict[str, Any] | None,
    gamma: float | None,
    tau: float | None,
    solver: dict[str, Any] | None,
) -> _Equilibrium:
    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} is only read with pretrained=True")
    fixed = {"prior": prior, "denoiser": denoiser, "denoiser_options": denoiser_options}
    given = sorted(k for k, v in fixed.items() if v is not None)
    if pretrained:
        if given:
            raise ValueError(f"{name}: {given} are fixed by the weight file when pretrained=True; pass only gamma, tau, solver")
        from deq.models.mismatch.weights import load_model

        overrides: dict[str, Any] = {"tau": tau, "gamma": step(tau) if gamma is None else gamma} if tau is not None else {}
        if tau is None and gamma is not None:
            overrides["gamma"] = gamma
        if solver:
            overrides["solver"] = solver
        return load_model(name, weights, **overrides)
    if prior is not None and (denoiser is not None or denoiser_options is not None):
        raise ValueError(f"{name}: prior={prior!r} is a trained denoiser; denoiser/denoiser_options build a fresh one")
    if prior is not None:
        from deq.models.mismatch.weights import load_prior

        net = load_prior(prior)
    else:
        net = _denoiser(default[0] if denoiser is None else denoiser, denoiser_options, default)
    t = default_tau if tau is None else tau
    return cls(net, step(t) if gamma is None else gamma, t, solver)


def sd_red(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    prior: str | None = None,
    denoiser: str | None = None,
    denoiser_options: dict[str, Any] | None = None,
    gamma: float | None = None,
    tau: float | None = None,
    solver: dict[str, Any] | None = None,
) -> SDRED:
    """SD-RED (:class:`SDRED`, CS-MRI).

    * ``pretrained=True``: the shipped mismatched AR prior (DnCNN trained through the DEQ at 10 % sampling), or
      the model file ``weights``; ``tau``, ``gamma`` (default: the step rule for a new ``tau``) and ``solver``
      override the stored settings.
    * ``prior="mri-dncnn-awgn-5"`` (a shipped AWGN denoiser name, or a deq prior weight file): PnP / RED with that
      AWGN denoiser.
    * otherwise a fresh deq-priors ``denoiser`` (default :data:`MRI_DENOISER`) with ``denoiser_options``.

    ``tau``: regularisation weight (default :data:`SD_RED_TAU`); ``gamma``: step (default :func:`sd_red_step`);
    ``solver``: fields of :class:`~deq.core.solver_config.SolverConfig` over :data:`MISMATCH_SOLVER`.
    """
    return _build(
        SDRED,
        "sd-red",
        MRI_DENOISER,
        SD_RED_TAU,
        sd_red_step,
        pretrained,
        weights,
        prior,
        denoiser,
        denoiser_options,
        gamma,
        tau,
        solver,
    )


def pnp_pgm(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    prior: str | None = None,
    denoiser: str | None = None,
    denoiser_options: dict[str, Any] | None = None,
    gamma: float | None = None,
    tau: float | None = None,
    solver: dict[str, Any] | None = None,
) -> PnPPGM:
    """PnP-PGM (:class:`PnPPGM`, super-resolution).

    * ``pretrained=True``: the shipped mismatched AR prior (U-Net trained through the DEQ at s = 2 and 4), or the
      model file ``weights``; ``tau``, ``gamma`` and ``solver`` override the stored settings (as for :func:`sd_red`).
    * ``prior="sr-unet-awgn-5"`` (a shipped AWGN denoiser name, or a deq prior weight file): PnP with it.
    * otherwise a fresh deq-priors ``denoiser`` (default :data:`SR_DENOISER`) with ``denoiser_options``.

    ``tau``: regularisation weight (default :data:`PNP_PGM_TAU`); ``gamma``: step (default :func:`pnp_pgm_step`,
    ``1 / tau``); ``solver``: as for :func:`sd_red`.
    """
    return _build(
        PnPPGM,
        "pnp-pgm",
        SR_DENOISER,
        PNP_PGM_TAU,
        pnp_pgm_step,
        pretrained,
        weights,
        prior,
        denoiser,
        denoiser_options,
        gamma,
        tau,
        solver,
    )
