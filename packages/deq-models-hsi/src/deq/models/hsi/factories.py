"""The registered factories of the four learned models (``registry.create("model", NAME, ...)``).

With ``pretrained=True`` a factory loads the shipped weights of the default fold (``sigma``, the noise level of the
data on the 0-255 scale, selects the weights trained at that level where they are shipped, see
:func:`deq.models.hsi.weights.shipped`; the blind ones otherwise), or the file ``weights``; only the inference
settings ``block`` (the block side ``n``) and ``solver`` (equilibrium models) may then be given, the file fixes the
rest. Otherwise it builds a fresh network: deq-priors' ``hsi-cnn`` (options ``prior`` over
:data:`~deq.models.hsi.models.PRIOR_OPTIONS`) and a random unit-norm ``bands x atoms`` dictionary, which training
replaces by a K-SVD one (``deq train hsi``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from deq.models.hsi.dictionary import random_dictionary
from deq.models.hsi.models import ATOMS, BANDS, BLOCK, PRIOR_OPTIONS, STAGES, SUPPORT, FastSparseCoding, FullSparseCoding


def build_prior(bands: int, options: dict[str, Any] | None) -> nn.Module:
    """deq-priors' ``hsi-cnn`` on ``bands`` channels with ``options`` over :data:`PRIOR_OPTIONS`."""
    from deq.core.registry import create

    return create("prior", "hsi-cnn", in_channels=bands, **{**PRIOR_OPTIONS, **(options or {})})


def _pretrained(
    name: str, pretrained: bool, weights: str | None, sigma: float | None, fixed: dict[str, Any], overrides: dict[str, Any]
):
    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} is only read with pretrained=True")
    if sigma is not None and (not pretrained or weights is not None):
        raise ValueError(f"{name}: sigma={sigma} selects shipped weights; it needs pretrained=True and no weights file")
    if not pretrained:
        return None
    given = sorted(k for k, v in fixed.items() if v is not None)
    if given:
        raise ValueError(f"{name}: {given} are fixed by the weight file when pretrained=True; only block and solver may be given")
    from deq.models.hsi.weights import load_model

    return load_model(name, weights, sigma, **{k: v for k, v in overrides.items() if v is not None})


def _full(name, pretrained, weights, sigma, bands, atoms, block, b, mu, prior, stages, solver) -> nn.Module:
    fixed = {"bands": bands, "atoms": atoms, "b": b, "mu": mu, "prior": prior}
    trained = _pretrained(name, pretrained, weights, sigma, fixed, {"block": block, "solver": solver})
    if trained is not None:
        return trained
    bands, atoms = bands or BANDS, atoms or ATOMS
    return FullSparseCoding(
        random_dictionary(bands, atoms),
        build_prior(bands, prior),
        block=block or BLOCK,
        stages=stages,
        solver=solver,
        b=1.0 if b is None else b,
        mu=0.01 if mu is None else mu,
    )


def _fast(name, pretrained, weights, sigma, bands, atoms, block, support, support_method, b, prior, stages, solver) -> nn.Module:
    fixed = {"bands": bands, "atoms": atoms, "support": support, "support_method": support_method, "b": b, "prior": prior}
    trained = _pretrained(name, pretrained, weights, sigma, fixed, {"block": block, "solver": solver})
    if trained is not None:
        return trained
    bands, atoms = bands or BANDS, atoms or ATOMS
    return FastSparseCoding(
        random_dictionary(bands, atoms),
        build_prior(bands, prior),
        block=block or BLOCK,
        stages=stages,
        solver=solver,
        support=support or SUPPORT,
        support_method=support_method or "omp",
        b=0.5 if b is None else b,
    )


def du_full_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float | None = None,
    bands: int | None = None,
    atoms: int | None = None,
    block: int | None = None,
    b: float | None = None,
    mu: float | None = None,
    prior: dict[str, Any] | None = None,
) -> nn.Module:
    """DU-full-sc (Gkillas et al. sec. IV-A): :data:`~deq.models.hsi.models.STAGES` weight-tied unrolled HQS stages
    (14) with learnable ``b`` and ``mu`` (initial 1.0 and 0.01); see :class:`~deq.models.hsi.models.FullSparseCoding`."""
    return _full("du-full-sc", pretrained, weights, sigma, bands, atoms, block, b, mu, prior, STAGES, None)


def deq_full_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float | None = None,
    bands: int | None = None,
    atoms: int | None = None,
    block: int | None = None,
    b: float | None = None,
    mu: float | None = None,
    prior: dict[str, Any] | None = None,
    solver: dict[str, Any] | None = None,
) -> nn.Module:
    """DEQ-full-sc (sec. IV-B): the fixed point of (14) by Anderson acceleration, implicit gradients (eq. 17-26);
    ``solver`` overrides fields of :data:`~deq.models.hsi.models.HSI_SOLVER`."""
    return _full("deq-full-sc", pretrained, weights, sigma, bands, atoms, block, b, mu, prior, None, solver)


def du_fast_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float | None = None,
    bands: int | None = None,
    atoms: int | None = None,
    block: int | None = None,
    support: int | None = None,
    support_method: str | None = None,
    b: float | None = None,
    prior: dict[str, Any] | None = None,
) -> nn.Module:
    """DU-fast-sc (sec. V-B): the support of each block from its centroid (``support`` atoms by ``support_method``,
    default :data:`~deq.models.hsi.models.SUPPORT` by OMP), then ``STAGES`` unrolled stages of (30)/(32) with
    learnable ``b`` (initial 0.5); see :class:`~deq.models.hsi.models.FastSparseCoding`."""
    return _fast("du-fast-sc", pretrained, weights, sigma, bands, atoms, block, support, support_method, b, prior, STAGES, None)


def deq_fast_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float | None = None,
    bands: int | None = None,
    atoms: int | None = None,
    block: int | None = None,
    support: int | None = None,
    support_method: str | None = None,
    b: float | None = None,
    prior: dict[str, Any] | None = None,
    solver: dict[str, Any] | None = None,
) -> nn.Module:
    """DEQ-fast-sc (sec. V-C): the fixed point of (32) on each block's support, Anderson and implicit gradients."""
    return _fast("deq-fast-sc", pretrained, weights, sigma, bands, atoms, block, support, support_method, b, prior, None, solver)
