"""2-D parallel-beam CT through ODL's ray transform (extra ``ct``: odl >= 1.0 and astra-toolbox).

``y = R x``: line integrals of ``x [B, 1, N, N]`` (real) over ``n_angles`` directions equally spaced in
``[0, pi)`` (angle ``i`` at ``(i + 1/2) pi / n_angles``), sampled by a flat detector of ``det_size`` cells of
one pixel width; ``y [B, 1, n_angles, det_size]``. The image occupies ``[-N/2, N/2]^2`` with unit pixels, so
sinogram values are in pixel units (as ``skimage.transform.radon``). LUSER's sparse-view setting takes 200 of
1000 views, i.e. every 5th view of a uniform 1000-view scan: ``ParallelBeamCT(N, n_angles=200)``.

Back-end: ``astra_cpu`` (float32; its back-projection is the transpose of its projection to float32 round-off,
whereas ODL's ``skimage`` back-end is 5x slower and its adjoint is off by about 1e-2). ODL's adjoint is taken
in weighted L2 spaces; it is rescaled here to the Euclidean adjoint ``R^T`` by a constant measured at
construction (see ``_calibrate_adjoint``). ODL is
imported only when an operator is built (it changes numpy's print options and ``SCIPY_ARRAY_API`` on
import). The operator is wrapped in a ``torch.autograd.Function`` whose backward is ``R^T``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor

from deq.core.operator import LinearOperator
from deq.operators.extras import require
from deq.operators.numpy_bridge import linear_function


def _import_odl_tomo():
    """``(odl, odl.applications.tomo)``, keeping numpy's print options as they were."""
    saved = np.get_printoptions()
    try:
        odl = require("odl", "ct", "ParallelBeamCT")
        require("astra", "ct", "ParallelBeamCT (astra_cpu back-end)")
        from odl.applications import tomo
    finally:
        np.set_printoptions(**saved)
    return odl, tomo


def odl_geometry(image_size: int, n_angles: int, det_size: int) -> tuple[object, object]:
    """``(space, geometry)``: ODL's image space on ``[-N/2, N/2]^2`` (unit pixels, float32) and the parallel-beam
    geometry with angles ``(i + 1/2) pi / n_angles`` and a flat detector of ``det_size`` unit cells, shared by
    :class:`ParallelBeamCT` and the sparse-matrix operator. Needs the extra ``ct``."""
    odl, tomo = _import_odl_tomo()
    half = image_size / 2
    space = odl.uniform_discr([-half, -half], [half, half], [image_size, image_size], dtype="float32")
    geometry = tomo.Parallel2dGeometry(
        odl.uniform_partition(0, math.pi, n_angles), odl.uniform_partition(-det_size / 2, det_size / 2, det_size)
    )
    return space, geometry


def check_geometry(image_size: int, n_angles: int, det_size: int, owner: str) -> None:
    """Raise a ``ValueError`` unless the sizes are valid integers."""
    values = {"image_size": image_size, "n_angles": n_angles, "det_size": det_size}
    if any(not isinstance(v, numbers.Integral) or isinstance(v, bool) for v in values.values()):
        raise TypeError(f"{owner}: image_size, n_angles and det_size must be ints, got {values}")
    if image_size < 2 or n_angles < 1 or det_size < 1:
        raise ValueError(f"{owner}: need image_size >= 2, n_angles >= 1, det_size >= 1, got {values}")


def default_det_size(image_size: int) -> int:
    """``ceil(sqrt(2) N)`` detector cells: the image's diagonal."""
    return int(math.ceil(math.sqrt(2) * image_size))


class ParallelBeamCT(LinearOperator):
    """``y = R x``: ``x [B, 1, N, N]`` -> sinogram ``[B, 1, n_angles, det_size]`` (both real).

    Args:
        image_size: ``N``.
        n_angles: number of views in ``[0, pi)``.
        det_size: detector cells (default ``ceil(sqrt(2) N)``, covering the image's diagonal).
        impl: ODL back-end, ``"astra_cpu"`` (default; ``"astra_cuda"`` where available).
    """

    def __init__(self, image_size: int, n_angles: int, *, det_size: int | None = None, impl: str = "astra_cpu") -> None:
        det_size = default_det_size(image_size) if det_size is None else det_size
        check_geometry(image_size, n_angles, det_size, "ParallelBeamCT")
        super().__init__((1, image_size, image_size), (1, n_angles, det_size), input_kind="real", output_kind="real")
        _, tomo = _import_odl_tomo()
        self.space, geometry = odl_geometry(image_size, n_angles, det_size)
        self.ray_transform = tomo.RayTransform(self.space, geometry, impl=impl)
        self._adjoint_scale = self._calibrate_adjoint()
        self._fbp: dict[tuple[str, float], object] = {}
        self.n_angles, self.det_size, self.image_size = n_angles, det_size, image_size

    def _calibrate_adjoint(self) -> float:
        """The constant ``c`` with ``R^T = c R*``: ODL's adjoint is ``R^T`` up to a weighting constant whose
        value depends on the back-end's scaling conventions, so it is measured once, as
        ``<R x, R x> / <x, R* R x>`` for a fixed random ``x`` (the adjoint tests then check ``c R*`` against
        the forward on fresh random pairs)."""
        rng = np.random.default_rng(0)
        x = self.space.element(rng.standard_normal(self.space.shape).astype(np.float32))
        rx = self.ray_transform(x)
        back = self.ray_transform.adjoint(rx)
        num = float(np.sum(np.asarray(rx.data, dtype=np.float64) ** 2))
        den = float(np.sum(np.asarray(x.data, dtype=np.float64) * np.asarray(back.data, dtype=np.float64)))
        return num / den

    @property
    def angles(self) -> Tensor:
        """View angles in radians, ``[n_angles]``."""
        return torch.from_numpy(np.asarray(self.ray_transform.geometry.angles, dtype=np.float64))

    def _apply_each(self, x: Tensor, fn, space, scale: float = 1.0) -> Tensor:
        arr = x.detach().cpu().numpy().astype(np.float32)
        out = np.stack([np.asarray(fn(space.element(a)).data) for a in arr.reshape(-1, *arr.shape[-2:])])
        out = torch.from_numpy(out).reshape(*x.shape[:-2], *out.shape[-2:])
        return (scale * out).to(device=x.device, dtype=x.dtype) if scale != 1.0 else out.to(device=x.device, dtype=x.dtype)

    def _numpy_forward(self, x: Tensor) -> Tensor:
        return self._apply_each(x, self.ray_transform, self.space)

    def _numpy_adjoint(self, y: Tensor) -> Tensor:
        rt = self.ray_transform
        return self._apply_each(y, rt.adjoint, rt.range, self._adjoint_scale)

    def _forward(self, x: Tensor) -> Tensor:
        return linear_function(x, self._numpy_forward, self._numpy_adjoint)

    def _adjoint(self, y: Tensor) -> Tensor:
        return linear_function(y, self._numpy_adjoint, self._numpy_forward)

    @torch.no_grad()
    def fbp(self, y: Tensor, *, filter_type: str = "Ram-Lak", frequency_scaling: float = 1.0) -> Tensor:
        """Filtered back-projection of ``y [B, 1, n_angles, det_size]`` (ODL's ``fbp_op``), ``[B, 1, N, N]``;
        an initialisation, not differentiable."""
        from deq.core.operator import check_shape

        check_shape(y, self.out_shape, "ParallelBeamCT.fbp input", "real")
        key = (filter_type, frequency_scaling)
        if key not in self._fbp:
            _, tomo = _import_odl_tomo()
            self._fbp[key] = tomo.fbp_op(self.ray_transform, filter_type=filter_type, frequency_scaling=frequency_scaling)
        return self._apply_each(y, self._fbp[key], self.ray_transform.range)
