"""2-D parallel-beam CT as one sparse matrix: ``y = R x`` with ``R`` stored as a torch sparse CSR matrix, so that
``A x`` and ``A^T y`` are one sparse-dense product each, for the whole batch, on CPU or GPU.

``R`` holds the weights of ASTRA's ``linear`` (Joseph) projector in the geometry of
:class:`deq.operators.ct.ParallelBeamCT` (image on ``[-N/2, N/2]^2`` with unit pixels, angles
``(i + 1/2) pi / n_angles``, ``det_size`` unit detector cells): the matrix ODL's ``astra_cpu`` ray transform
applies, so the sinograms agree with :class:`ParallelBeamCT` to float32 round-off (tested to 1e-5 relative). The
adjoint is the exact transpose ``R^T`` (a second CSR matrix holding the same weights).

The matrix is built once per geometry through ODL and ASTRA (extra ``ct``) and cached on disk in the user cache
folder (``$DEQ_CACHE``, else ``$XDG_CACHE_HOME/deq``, else ``~/.cache/deq``; subfolder ``ct``), written
atomically; later constructions read the file and need neither ODL nor ASTRA. A ``256 x 256`` image with 200
views has 23.6 million weights (190 MB on disk, about 380 MB in memory with the transpose); 128 x 128 with 200
views, 5.9 million.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from deq.core.checkpoint import save_atomic
from deq.core.operator import LinearOperator
from deq.operators.ct import check_geometry, default_det_size, odl_geometry
from deq.operators.extras import require
from deq.operators.numpy_bridge import linear_function

#: bump when the cached file's content or layout changes
CACHE_FORMAT = 1


def cache_folder() -> Path:
    """Where deq caches derived data: ``$DEQ_CACHE``, else ``$XDG_CACHE_HOME/deq``, else ``~/.cache/deq``."""
    if os.environ.get("DEQ_CACHE"):
        return Path(os.environ["DEQ_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "deq"
    return Path.home() / ".cache" / "deq"


def matrix_path(image_size: int, n_angles: int, det_size: int, folder: str | os.PathLike[str] | None = None) -> Path:
    """The cache file of one geometry's ray-transform matrix."""
    root = Path(folder) if folder is not None else cache_folder()
    return root / "ct" / f"parallel2d-linear_n{image_size}_a{n_angles}_d{det_size}_v{CACHE_FORMAT}.pt"


def build_matrix(image_size: int, n_angles: int, det_size: int) -> dict[str, Tensor]:
    """The CSR arrays of ``R`` (``[n_angles * det_size, N * N]``; rows: angle-major sinogram, columns: row-major
    image), from ASTRA's CPU projector with ODL's geometry conversion, as ``{"crow", "col", "values", "shape"}``
    (int32 indices, float32 weights). Needs the extra ``ct``."""
    owner = "SparseParallelBeamCT (building its matrix)"
    require("odl", "ct", owner)
    astra = require("astra", "ct", owner)
    from odl.applications.tomo.backends.astra_cpu import default_astra_proj_type
    from odl.applications.tomo.backends.astra_setup import astra_projection_geometry, astra_volume_geometry

    space, geometry = odl_geometry(image_size, n_angles, det_size)
    proj_id = astra.create_projector(
        default_astra_proj_type(geometry), astra_projection_geometry(geometry, "cpu"), astra_volume_geometry(space, "cpu")
    )
    try:
        matrix_id = astra.projector.matrix(proj_id)
        try:
            csr = astra.matrix.get(matrix_id)
        finally:
            astra.matrix.delete(matrix_id)
    finally:
        astra.projector.delete(proj_id)
    csr.sort_indices()
    return {
        "crow": torch.from_numpy(csr.indptr.astype(np.int32)),
        "col": torch.from_numpy(csr.indices.astype(np.int32)),
        "values": torch.from_numpy(csr.data.astype(np.float32)),
        "shape": torch.tensor(csr.shape, dtype=torch.int64),
    }


def _valid(arrays: object, shape: tuple[int, int]) -> bool:
    if not isinstance(arrays, dict) or set(arrays) != {"crow", "col", "values", "shape"}:
        return False
    crow, col, values = arrays["crow"], arrays["col"], arrays["values"]
    return (
        tuple(arrays["shape"].tolist()) == shape
        and crow.shape == (shape[0] + 1,)
        and col.shape == values.shape
        and int(crow[-1]) == values.numel()
    )


def load_matrix(
    image_size: int, n_angles: int, det_size: int, folder: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Tensor], Path]:
    """The CSR arrays of ``R`` from the cache, building and caching them (atomically) when absent or unreadable;
    returns ``(arrays, path)``."""
    path = matrix_path(image_size, n_angles, det_size, folder)
    shape = (n_angles * det_size, image_size * image_size)
    if path.exists():
        try:
            arrays = torch.load(path, weights_only=True)
        except Exception as exc:  # a truncated or foreign file: rebuild it
            warnings.warn(f"SparseParallelBeamCT: rebuilding the unreadable cache file {path} ({exc})", stacklevel=3)
        else:
            if _valid(arrays, shape):
                return arrays, path
            warnings.warn(f"SparseParallelBeamCT: rebuilding the cache file {path}: it does not fit the geometry", stacklevel=3)
    try:
        arrays = build_matrix(image_size, n_angles, det_size)
    except ImportError as exc:
        raise ImportError(f"{exc}; it is needed once per geometry, to build the matrix cached at {path}") from exc
    save_atomic(arrays, path)
    return arrays, path


def _csr(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    """A sparse CSR view of the arrays (no copy, no invariant check: they come from scipy, validated on load)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        return torch.sparse_csr_tensor(crow, col, values, size=shape, check_invariants=False)


def _transpose(arrays: dict[str, Tensor]) -> dict[str, Tensor]:
    """The CSR arrays of ``R^T`` (the same weights, regrouped by column)."""
    from scipy.sparse import csr_matrix

    rows, cols = (int(v) for v in arrays["shape"])
    t = csr_matrix((arrays["values"].numpy(), arrays["col"].numpy(), arrays["crow"].numpy()), shape=(rows, cols)).T.tocsr()
    t.sort_indices()
    return {
        "crow": torch.from_numpy(t.indptr.astype(np.int32)),
        "col": torch.from_numpy(t.indices.astype(np.int32)),
        "values": torch.from_numpy(t.data.astype(np.float32)),
    }


class SparseParallelBeamCT(LinearOperator):
    """``y = R x``: ``x [B, 1, N, N]`` -> sinogram ``[B, 1, n_angles, det_size]`` (both real), one sparse product.

    Same geometry and sinogram as :class:`deq.operators.ct.ParallelBeamCT` (see the module docstring);
    ``A x = (R X)^T`` with ``X = x`` reshaped to ``[N^2, B]``, ``A^T y = (R^T Y)^T``, wrapped in an autograd
    function whose backward is the other product. The CSR arrays of ``R`` and ``R^T`` are non-persistent buffers
    (``crow``/``col``/``values`` and ``crow_t``/``col_t``/``values_t``; int32 indices, float32 weights):
    ``.to(device)``, ``.double()`` and ``copy.deepcopy`` work, and ``state_dict`` does not hold them (the geometry
    defines them). Inputs of another dtype or device use converted weights, kept for the next call. LUSER's task:
    ``SparseParallelBeamCT(128, 200)``.

    Args:
        image_size: ``N``.
        n_angles: number of views in ``[0, pi)``.
        det_size: detector cells (default ``ceil(sqrt(2) N)``).
        cache_dir: cache folder (default :func:`cache_folder`); the file is ``<cache_dir>/ct/...``.
    """

    def __init__(
        self,
        image_size: int,
        n_angles: int,
        *,
        det_size: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        det_size = default_det_size(image_size) if det_size is None else det_size
        check_geometry(image_size, n_angles, det_size, "SparseParallelBeamCT")
        super().__init__((1, image_size, image_size), (1, n_angles, det_size), input_kind="real", output_kind="real")
        self.image_size, self.n_angles, self.det_size = image_size, n_angles, det_size
        arrays, self.cache_path = load_matrix(image_size, n_angles, det_size, cache_dir)
        transposed = _transpose(arrays)
        for suffix, part in (("", arrays), ("_t", transposed)):
            for name in ("crow", "col", "values"):
                self.register_buffer(name + suffix, part[name], persistent=False)
        self._converted: dict[tuple, tuple[Tensor, Tensor, Tensor]] = {}

    def _weights(self, like_x: Tensor) -> tuple[Tensor, Tensor]:
        """The weights of ``R`` and ``R^T`` in ``like_x``'s dtype and on its device (converted once, then reused)."""
        if self.values.dtype == like_x.dtype and self.values.device == like_x.device:
            return self.values, self.values_t
        key = (like_x.dtype, like_x.device)
        entry = self._converted.get(key)
        if entry is None or entry[0] is not self.values:
            entry = (self.values, *(v.to(device=like_x.device, dtype=like_x.dtype) for v in (self.values, self.values_t)))
            self._converted[key] = entry
        return entry[1], entry[2]

    def _matrix(self, like_x: Tensor, transpose: bool) -> Tensor:
        """``R`` (or ``R^T``) as a sparse CSR tensor in ``like_x``'s dtype and on its device."""
        rows, cols = self.n_angles * self.det_size, self.image_size**2
        values, values_t = self._weights(like_x)
        if transpose:
            return _csr(self.crow_t.to(like_x.device), self.col_t.to(like_x.device), values_t, (cols, rows))
        return _csr(self.crow.to(like_x.device), self.col.to(like_x.device), values, (rows, cols))

    @staticmethod
    def _product(matrix: Tensor, x: Tensor, out_shape: tuple[int, ...]) -> Tensor:
        """``matrix @ x_b`` for every sample ``b``: one sparse-dense product with the batch as columns."""
        flat = x.reshape(x.shape[0], -1).T.contiguous()  # [columns, B]
        return torch.sparse.mm(matrix, flat).T.reshape(x.shape[0], *out_shape)

    def _multiply(self, x: Tensor) -> Tensor:
        return self._product(self._matrix(x, transpose=False), x, self.out_shape)

    def _multiply_transpose(self, y: Tensor) -> Tensor:
        return self._product(self._matrix(y, transpose=True), y, self.in_shape)

    def _forward(self, x: Tensor) -> Tensor:
        return linear_function(x, self._multiply, self._multiply_transpose)

    def _adjoint(self, y: Tensor) -> Tensor:
        return linear_function(y, self._multiply_transpose, self._multiply)

    @property
    def angles(self) -> Tensor:
        """View angles in radians, ``[n_angles]`` (``(i + 1/2) pi / n_angles``)."""
        return (torch.arange(self.n_angles, dtype=torch.float64) + 0.5) * (torch.pi / self.n_angles)
