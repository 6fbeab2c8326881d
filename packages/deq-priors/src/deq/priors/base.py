"""What every prior shares: input checks, noise-level handling, and the prologue of the convolutional
denoisers (:class:`ConvPrior`: size checks, spectral normalisation, the declared :class:`deq.core.prior.Prior`
attributes, the residual output)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from deq.priors.spectral import apply_spectral_norm


def check_image(x: Tensor, name: str, *, ndim: int | tuple[int, ...] = 4, channels: int | None = None) -> None:
    """Raise a ``ValueError``/``TypeError`` naming ``name`` unless ``x`` is a real floating tensor with
    ``ndim`` dimensions (4: ``[B, C, H, W]``; 5: ``[B, C, T, H, W]``) and ``channels`` channels."""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    layout = {4: "[B, C, H, W]", 5: "[B, C, T, H, W]"}
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a real floating-point tensor, got dtype {x.dtype}")
    if x.dim() not in dims:
        want = " or ".join(layout.get(d, f"{d}-D") for d in dims)
        raise ValueError(f"{name}: expected a {want} tensor, got shape {list(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channel(s) in dim 1, got shape {list(x.shape)}")


def sigma_tensor(sigma: float | Tensor | None, x: Tensor, name: str) -> Tensor:
    """The noise level as a ``[B, 1, 1, ...]`` tensor broadcastable against ``x``.

    ``sigma`` is a float, a 0-d tensor, or a ``[B]`` tensor of per-sample levels (intensity scale of
    ``x``, e.g. ``25/255``); ``None`` is an error for priors that need it.
    """
    if sigma is None:
        raise ValueError(f"{name}: this prior is noise-level conditioned; pass sigma (e.g. 25/255)")
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.dim() == 0:
        s = s.expand(x.shape[0])
    if s.dim() != 1 or s.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: sigma must be a float or a [B] tensor with B={x.shape[0]}, got shape {list(s.shape)}")
    if bool((s < 0).any()):
        raise ValueError(f"{name}: sigma must be >= 0, got {s.tolist()}")
    return s.reshape(-1, *([1] * (x.dim() - 1)))


def check_sizes(name: str, **minimums: tuple[int, int]) -> None:
    """Raise ``ValueError`` unless every ``size = (value, minimum)`` has ``value >= minimum``."""
    bad = {k: v for k, (v, lo) in minimums.items() if not isinstance(v, int) or v < lo}
    if bad:
        need = ", ".join(f"{k} >= {lo}" for k, (_, lo) in minimums.items())
        raise ValueError(f"{name}: need {need}; got {bad}")


class ConvPrior(nn.Module):
    """Base of the convolutional denoisers (DnCNN, FFDNet, U-Nets, CNNs): a :class:`deq.core.prior.Prior`.

    A subclass builds its layers, then calls :meth:`finish` (spectral normalisation and the Lipschitz
    declaration), and implements :meth:`denoise` ``(x, s) -> out`` with ``s`` the ``[B, 1, ...]`` noise level
    (``None`` unless ``takes_sigma``); :meth:`forward` checks the input (layout, channels) and returns
    ``x - out`` when ``residual`` (noise prediction), else ``out``.
    """

    takes_sigma = False
    video = False

    def __init__(self, in_channels: int, residual: bool) -> None:
        super().__init__()
        self.in_channels, self.residual = in_channels, residual
        self.lipschitz: str | None = None

    def finish(self, spectral_norm: str | None) -> None:
        """Apply ``spectral_norm`` (``None``, ``"real"`` or ``"plain"`` = Miyato) to every convolution and set
        ``lipschitz``; real spectral normalisation with batch norm is an error (BN breaks the bound)."""
        if spectral_norm == "real" and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules()):
            raise ValueError(f"{type(self).__name__}: batch_norm=True breaks the Lipschitz bound of spectral_norm='real'")
        apply_spectral_norm(self, spectral_norm)
        self.lipschitz = {None: None, "real": "real", "plain": "miyato"}[spectral_norm]
        if not self.video:  # channels-last 2-D weights: 1.35-1.8x faster CPU convolutions (measured, docs/priors.md)
            self.to(memory_format=torch.channels_last)

    @property
    def lipschitz_controlled(self) -> bool:
        """Whether the Lipschitz constant is bounded by construction (real spectral normalisation)."""
        return self.lipschitz == "real"

    def denoise(self, x: Tensor, s: Tensor | None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement denoise")

    def forward(self, x: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        name = type(self).__name__
        check_image(x, name, ndim=5 if self.video else 4, channels=self.in_channels)
        out = self.denoise(x, sigma_tensor(sigma, x, name) if self.takes_sigma else None)
        return x - out if self.residual else out
