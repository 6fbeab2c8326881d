"""Cartesian MRI: ``y = M ⊙ F x`` (single coil) or ``y_c = M ⊙ F (S_c x)`` (multi-coil, sensitivity maps
``S_c``), with ``F`` the orthonormal 2-D DFT (``torch.fft.fft2(norm="ortho")``), plus k-space sampling masks.

Data representation is chosen explicitly with ``representation=``, never guessed from the input:
``"complex"`` — ``x [B, 1, H, W]`` and ``y [B, 1, H, W]`` (``[B, Nc, H, W]`` multi-coil) complex tensors;
``"real2"`` — the same data as real tensors with real/imaginary parts as a channel pair: ``x [B, 2, H, W]``,
``y [B, 2, H, W]`` (``[B, 2, Nc, H, W]`` multi-coil), the layout of DeepInverse's ``MRI``.

k-space layout: ``centered=False`` (default) keeps torch's layout, DC at index ``(0, 0)`` — the layout of the
ISTA-Net masks in ``shared/data/mri/ISTA_masks``; ``centered=True`` uses ``fftshift(F(ifftshift(x)))`` with
DC at ``(H//2, W//2)`` (fastMRI / DeepInverse) and expects a centred mask.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import Tensor

from deq.core.operator import Capability, LinearOperator
from deq.operators.batching import as_float_tensor, check_finite, inverse_gamma, like, match_batch

REPRESENTATIONS = ("complex", "real2")


def _fft(x: Tensor, centered: bool) -> Tensor:
    if centered:
        return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))
    return torch.fft.fft2(x, norm="ortho")


def _ifft(y: Tensor, centered: bool) -> Tensor:
    if centered:
        return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(y, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))
    return torch.fft.ifft2(y, norm="ortho")


def _to_complex(x: Tensor) -> Tensor:
    """``[B, 2, ...]`` real -> ``[B, 1, ...]`` complex."""
    return torch.complex(x[:, 0], x[:, 1]).unsqueeze(1)


def _to_real2(z: Tensor) -> Tensor:
    """``[B, 1, ...]`` complex -> ``[B, 2, ...]`` real."""
    return torch.cat([z.real, z.imag], dim=1)


class CartesianMRI(LinearOperator):
    """``y = M ⊙ F x`` (single coil) or ``y_c = M ⊙ F(S_c x)`` (multi-coil).

    Args:
        mask: k-space mask ``[H, W]`` (shared) or ``[B, H, W]`` (per sample); binary or real weights.
        representation: ``"complex"`` or ``"real2"`` (see the module docstring).
        coil_maps: optional complex sensitivity maps ``[Nc, H, W]`` or ``[B, Nc, H, W]``.
        centered: k-space layout of ``mask`` and ``y`` (DC at the centre instead of the corner).

    Capabilities (single coil, where ``A A^H = M^2`` is diagonal in k-space): closed-form ``prox_l2`` and
    ``project``. Real images (Hu et al.'s CS-MRI, ``A = P F``, Sec. 4.1): ``CartesianMRI(mask).real_input()`` maps
    real ``[B, 1, H, W]`` to complex k-space with adjoint ``Re(A^H y)``, so SD-RED's ``grad g`` of their eq. (4) is
    ``A.adjoint(A(x) - y)``.
    """

    def __init__(
        self,
        mask: Tensor,
        *,
        representation: str = "complex",
        coil_maps: Tensor | None = None,
        centered: bool = False,
    ) -> None:
        if representation not in REPRESENTATIONS:
            raise ValueError(f"CartesianMRI: representation must be one of {REPRESENTATIONS}, got {representation!r}")
        m = as_float_tensor(mask, "mask", "CartesianMRI")
        if m.dim() == 2:
            m = m.unsqueeze(0)
        if m.dim() != 3:
            raise ValueError(f"CartesianMRI: mask must be [H, W] or [B, H, W], got shape {list(mask.shape)}")
        h, w = m.shape[-2:]
        coils = None
        if coil_maps is not None:
            maps = check_finite(torch.as_tensor(coil_maps), "coil_maps", "CartesianMRI")
            if not maps.is_complex():
                raise TypeError(f"CartesianMRI: coil_maps must be complex [Nc, H, W] or [B, Nc, H, W], got {maps.dtype}")
            maps = maps.unsqueeze(0) if maps.dim() == 3 else maps
            if maps.dim() != 4 or maps.shape[-2:] != (h, w):
                raise ValueError(
                    f"CartesianMRI: coil_maps must be [Nc, {h}, {w}] or [B, Nc, {h}, {w}] to match the mask, "
                    f"got shape {list(coil_maps.shape)}"
                )
            coils = maps.shape[1]
        if representation == "complex":
            in_shape, out_shape, kind = (1, h, w), (coils or 1, h, w), "complex"
        else:
            in_shape, kind = (2, h, w), "real"
            out_shape = (2, coils, h, w) if coils else (2, h, w)
        super().__init__(in_shape, out_shape, input_kind=kind, output_kind=kind)
        self.representation = representation
        self.centered = centered
        self.capabilities = frozenset() if coils else frozenset({Capability.CLOSED_FORM_PROX, Capability.PROJECTION})
        self.register_buffer("mask", m.unsqueeze(1))
        self.register_buffer("coil_maps", None if coil_maps is None else maps.detach().clone().unsqueeze(2))

    @property
    def multicoil(self) -> bool:
        return self.coil_maps is not None

    def _mask_for(self, x: Tensor) -> Tensor:
        return like(match_batch(self.mask, x.shape[0], "mask", "CartesianMRI"), x)

    def _maps_for(self, x: Tensor) -> Tensor:
        """Coil maps ``[1 or B, Nc, 1, H, W]`` in ``x``'s complex precision."""
        maps = match_batch(self.coil_maps, x.shape[0], "coil_maps", "CartesianMRI")
        ctype = x.dtype if x.is_complex() else (torch.complex128 if x.dtype == torch.float64 else torch.complex64)
        return maps.to(device=x.device, dtype=ctype)

    def _forward(self, x: Tensor) -> Tensor:
        z = _to_complex(x) if self.representation == "real2" else x  # [B, 1, H, W]
        if self.multicoil:
            return self._out(self._mask_for(z) * _fft(self._maps_for(z)[:, :, 0] * z, self.centered))  # Nc coils
        return self._out(self._mask_for(z) * _fft(z, self.centered))

    def _out(self, k: Tensor) -> Tensor:
        """k-space ``[B, 1 or Nc, H, W]`` complex in the chosen representation."""
        if self.representation == "complex":
            return k
        return _to_real2(k.unsqueeze(1)) if self.multicoil else _to_real2(k)

    def _in(self, y: Tensor) -> Tensor:
        """k-space in the chosen representation -> complex ``[B, 1 or Nc, H, W]``."""
        if self.representation == "complex":
            return y
        return _to_complex(y).squeeze(1) if self.multicoil else _to_complex(y)

    def _adjoint(self, y: Tensor) -> Tensor:
        k = self._in(y)
        img = _ifft(self._mask_for(k) * k, self.centered)
        if self.multicoil:
            img = (self._maps_for(k)[:, :, 0].conj() * img).sum(dim=1, keepdim=True)
        return _to_real2(img) if self.representation == "real2" else img

    def prox_l2(self, z: Tensor, y: Tensor, gamma: float | Tensor, *, tol: float = 1e-6, max_iter: int = 100) -> Tensor:
        """``argmin_x 1/2 ||A x - y||^2 + 1/(2 gamma) ||x - z||^2``. Single coil: closed form, diagonal in
        k-space, ``x = F^H[(M ⊙ y + F z / gamma) / (M^2 + 1/gamma)]`` (``tol``/``max_iter`` unused);
        multi-coil: conjugate gradient."""
        if self.multicoil:
            return super().prox_l2(z, y, gamma, tol=tol, max_iter=max_iter)
        zc, yc = (_to_complex(z), _to_complex(y)) if self.representation == "real2" else (z, y)
        m, inv_gamma = self._mask_for(zc), inverse_gamma(gamma, zc.real)
        x = _ifft((m * yc + inv_gamma * _fft(zc, self.centered)) / (m * m + inv_gamma), self.centered)
        return _to_real2(x) if self.representation == "real2" else x

    def _project(self, x: Tensor, y: Tensor) -> Tensor:
        """Single coil: ``F^H[y / M where M != 0, F x elsewhere]``, the closest image to ``x`` whose sampled
        k-space equals ``y``."""
        xc, yc = (_to_complex(x), _to_complex(y)) if self.representation == "real2" else (x, y)
        m = self._mask_for(xc)
        sampled = m != 0
        k = torch.where(sampled, yc / torch.where(sampled, m, torch.ones_like(m)), _fft(xc, self.centered))
        out = _ifft(k, self.centered)
        return _to_real2(out) if self.representation == "real2" else out


# -- sampling masks ----------------------------------------------------------------------------------------
def _layout(centred_mask: np.ndarray, centered: bool) -> Tensor:
    """A mask built with DC at the centre, returned in the requested layout as float32 ``[H, W]``."""
    m = centred_mask if centered else np.fft.ifftshift(centred_mask)
    return torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))


def radial_lines(size: tuple[int, int], n_lines: int, *, centered: bool = False) -> Tensor:
    """Pseudo-radial mask: ``n_lines`` straight lines through the k-space centre at equally spaced angles in
    ``[0, pi)``, rasterised by nearest-neighbour rounding; float32 ``[H, W]`` in {0, 1}."""
    h, w = size
    if n_lines < 1:
        raise ValueError(f"radial_lines: n_lines must be >= 1, got {n_lines}")
    mask = np.zeros((h, w), dtype=bool)
    radius = math.hypot(h, w) / 2
    t = np.arange(-radius, radius, 0.25)
    for theta in np.arange(n_lines) * math.pi / n_lines:
        rows = np.round(h // 2 + t * math.sin(theta)).astype(int)
        cols = np.round(w // 2 + t * math.cos(theta)).astype(int)
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        mask[rows[inside], cols[inside]] = True
    return _layout(mask, centered)


def radial_mask(size: tuple[int, int], fraction: float, *, centered: bool = False) -> Tensor:
    """Pseudo-radial mask sampling at least ``fraction`` of k-space with the fewest lines (the 10/20/30 %
    radial masks of Hu et al.; the originals are ``shared/data/mri/ISTA_masks``, load them with
    :func:`load_mask`). Float32 ``[H, W]``; DC at ``(0, 0)`` unless ``centered``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"radial_mask: fraction must be in (0, 1], got {fraction}")
    lo, hi = 1, 4 * max(size)
    while lo < hi:  # the sampled fraction grows with the number of lines
        mid = (lo + hi) // 2
        if float(radial_lines(size, mid, centered=True).mean()) >= fraction:
            hi = mid
        else:
            lo = mid + 1
    return radial_lines(size, lo, centered=centered)


def column_mask(
    size: tuple[int, int],
    acceleration: float,
    *,
    center_fraction: float | None = None,
    kind: str = "random",
    seed: int = 0,
    centered: bool = False,
) -> Tensor:
    """Cartesian phase-encode mask: whole columns (along ``W``), a fully sampled centre band of
    ``round(W * center_fraction)`` columns, and the rest chosen ``"random"``ly (seeded) or ``"equispaced"``
    so that about ``W / acceleration`` columns are sampled (fastMRI / LUSER convention; default centre
    fraction 0.08 at 4x, 0.04 at 8x, i.e. ``0.32 / acceleration``). Float32 ``[H, W]`` in {0, 1}."""
    h, w = size
    if acceleration < 1:
        raise ValueError(f"column_mask: acceleration must be >= 1, got {acceleration}")
    if kind not in ("random", "equispaced"):
        raise ValueError(f"column_mask: kind must be 'random' or 'equispaced', got {kind!r}")
    frac = 0.32 / acceleration if center_fraction is None else center_fraction
    n_low = int(round(w * frac))
    n_total = int(round(w / acceleration))
    if not 0 <= n_low <= n_total:
        raise ValueError(f"column_mask: centre band of {n_low} columns exceeds the {n_total} columns of {acceleration}x")
    cols = np.zeros(w, dtype=bool)
    start = (w - n_low + 1) // 2
    cols[start : start + n_low] = True
    outer = np.flatnonzero(~cols)
    n_outer = n_total - n_low
    if kind == "random":
        chosen = np.random.default_rng(seed).choice(outer, size=n_outer, replace=False)
    else:
        chosen = outer[np.round(np.linspace(0, len(outer) - 1, n_outer)).astype(int)] if n_outer else outer[:0]
    cols[chosen] = True
    return _layout(np.broadcast_to(cols, (h, w)), centered)


def load_mask(path: str | os.PathLike[str], key: str | None = None) -> Tensor:
    """A 2-D mask from a ``.mat`` file (MATLAB v5 via scipy, v7.3/HDF5 via h5py, transposed back), as float32
    ``[H, W]``; ``key`` defaults to the file's only variable (e.g. ``mask_matrix`` of the ISTA-Net masks,
    whose k-space centre is at the corners: use ``centered=False``)."""
    path = os.fspath(path)
    try:
        from scipy.io import loadmat

        raw = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # MATLAB v7.3
        import h5py

        with h5py.File(path, "r") as f:
            raw = {k: np.asarray(f[k]).T for k in f.keys() if not k.startswith("#")}
    if key is None:
        if len(raw) != 1:
            raise KeyError(f"{path}: holds variables {sorted(raw)}; pass key= to choose the mask")
        key = next(iter(raw))
    if key not in raw:
        raise KeyError(f"{path}: no variable {key!r}; it holds {sorted(raw)}")
    mask = np.asarray(raw[key], dtype=np.float32)
    if mask.ndim != 2:
        raise ValueError(f"{path}: {key} has shape {mask.shape}, expected a 2-D mask [H, W]")
    return torch.from_numpy(mask)
