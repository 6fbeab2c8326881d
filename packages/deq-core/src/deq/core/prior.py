"""The ``Prior`` seam: what a denoiser / regulariser ``D(x, sigma=None) -> x`` declares about itself.

Models compose operators with priors and need to know, without duck typing, how many channels a prior takes,
whether it is conditioned on the noise level, whether it works on images or videos, and whether (and how) its
Lipschitz constant is controlled — the last decides whether a convergence condition (Zhao et al. Theorem 1;
Hu et al. sec. 3) can be checked or must be monitored by the solver.

``lipschitz`` is one of

* ``"real"``: every layer normalised by its true operator norm (real spectral normalisation): a bound;
* ``"prox"``: a proximal operator, firmly non-expansive (TV, soft-thresholding);
* ``"miyato"``: Miyato et al.'s spectral norm of the reshaped weight matrix: a heuristic, not a bound;
* ``None``: nothing controls it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

LIPSCHITZ = (None, "real", "prox", "miyato")
#: the kinds of ``lipschitz`` that bound the Lipschitz constant
BOUNDED = ("real", "prox")


@runtime_checkable
class Prior(Protocol):
    """A prior ``D(x, sigma=None) -> x`` on ``[B, C, H, W]`` (or ``[B, C, T, H, W]`` when ``video``).

    Attributes:
        in_channels: ``C`` it accepts, or ``None`` for any.
        takes_sigma: it is conditioned on the noise level ``sigma`` (a float or ``[B]`` on the intensity scale).
        lipschitz: how its Lipschitz constant is controlled (see the module docstring).
        video: it works on videos ``[B, C, T, H, W]`` rather than images.
    """

    in_channels: int | None
    takes_sigma: bool
    lipschitz: str | None
    video: bool

    def __call__(self, x: Tensor, sigma: Any = None) -> Tensor: ...


def lipschitz_bounded(prior: Prior) -> bool:
    """Whether ``prior``'s Lipschitz constant is bounded by construction (``"real"`` or ``"prox"``)."""
    return getattr(prior, "lipschitz", None) in BOUNDED


def check_prior(prior: object, where: str = "prior") -> None:
    """Raise ``TypeError`` naming what is missing unless ``prior`` declares the :class:`Prior` attributes."""
    missing = [a for a in ("in_channels", "takes_sigma", "lipschitz", "video") if not hasattr(prior, a)]
    if missing or not callable(prior):
        raise TypeError(f"{where}: {type(prior).__name__} is not a deq Prior; it lacks {missing or ['__call__']}")
    if prior.lipschitz not in LIPSCHITZ:
        raise ValueError(f"{where}: lipschitz must be one of {LIPSCHITZ}, got {prior.lipschitz!r}")
