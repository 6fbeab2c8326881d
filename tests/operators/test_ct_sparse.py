"""Parallel-beam CT as a cached sparse matrix: the same sinogram as ODL's ray transform, an exact transpose,
the on-disk cache (written atomically, read without ODL/astra, rebuilt when unreadable) and a missing extra."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import pytest
import torch

from deq.core.operator import adjoint_test
from deq.operators import SparseParallelBeamCT
from deq.operators.ct_sparse import cache_folder, matrix_path

pytest.importorskip("odl")
pytest.importorskip("astra")


def _phantom(n: int) -> torch.Tensor:
    i = torch.linspace(-1, 1, n)
    r2 = i[:, None] ** 2 + (i[None, :] / 0.7) ** 2
    return ((r2 < 0.8).float() + 0.5 * (((i[:, None] - 0.2) ** 2 + i[None, :] ** 2) < 0.05).float())[None, None]


@pytest.mark.parametrize(("n", "views"), [(64, 20), (128, 200)], ids=["64-20", "luser-128-200"])
def test_same_sinogram_and_back_projection_as_odl(n: int, views: int) -> None:
    from deq.operators import ParallelBeamCT

    ours, odl_op = SparseParallelBeamCT(n, views), ParallelBeamCT(n, views)
    assert torch.allclose(ours.angles, odl_op.angles)
    x = torch.cat([_phantom(n), torch.rand(1, 1, n, n)])
    y, reference = ours(x), odl_op(x)
    assert y.shape == (2, 1, views, odl_op.det_size)
    for b in range(2):
        assert float((y[b] - reference[b]).norm() / reference[b].norm()) < 1e-5
    sino = torch.rand_like(y)
    back, reference_back = ours.adjoint(sino), odl_op.adjoint(sino)
    assert float((back - reference_back).norm() / reference_back.norm()) < 1e-5


def test_adjoint_is_the_exact_transpose_and_batches_are_columns() -> None:
    op = SparseParallelBeamCT(8, 5)
    dense = torch.stack([op(torch.eye(64)[i].reshape(1, 1, 8, 8)).reshape(-1) for i in range(64)], dim=1)
    dense_t = torch.stack([op.adjoint(torch.eye(60)[i].reshape(1, 1, 5, 12)).reshape(-1) for i in range(60)], dim=1)
    assert torch.equal(dense_t, dense.T)
    assert adjoint_test(op, (3, 1, 8, 8), dtype=torch.float64) < 1e-14
    x = torch.rand(5, 1, 8, 8)
    assert torch.allclose(op(x), torch.cat([op(x[i : i + 1]) for i in range(5)]))


def test_matrix_is_cached_atomically_and_read_without_odl_or_astra(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DEQ_CACHE", str(tmp_path))
    assert cache_folder() == tmp_path
    op = SparseParallelBeamCT(16, 6)
    path = matrix_path(16, 6, 23)
    assert op.cache_path == path and path.is_file() and path.parent == tmp_path / "ct"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    x = torch.rand(2, 1, 16, 16)
    expected = op(x)

    real_import = builtins.__import__

    def no_backends(name, *args, **kwargs):
        if name.split(".")[0] in ("odl", "astra"):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m.split(".")[0] in ("odl", "astra")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", no_backends)
    assert torch.equal(SparseParallelBeamCT(16, 6)(x), expected)  # from the cache file alone
    with pytest.raises(ImportError, match=r'pip install "deq-operators\[ct\]".*needed once per geometry'):
        SparseParallelBeamCT(16, 7)  # another geometry: nothing cached, no back-end to build it


def test_unreadable_or_foreign_cache_file_is_rebuilt(tmp_path) -> None:
    x = torch.rand(1, 1, 8, 8)
    expected = SparseParallelBeamCT(8, 5, cache_dir=tmp_path)(x)
    path = matrix_path(8, 5, 12, tmp_path)
    path.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="rebuilding the unreadable cache file"):
        op = SparseParallelBeamCT(8, 5, cache_dir=tmp_path)
    assert torch.equal(op(x), expected)
    torch.save({"crow": torch.zeros(3, dtype=torch.int32)}, path)
    with pytest.warns(UserWarning, match="does not fit the geometry"):
        assert torch.equal(SparseParallelBeamCT(8, 5, cache_dir=tmp_path)(x), expected)


def test_cache_is_never_inside_the_package(tmp_path, monkeypatch) -> None:
    import deq.operators

    package = Path(deq.operators.__file__).parent
    monkeypatch.delenv("DEQ_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "deq"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_folder() == Path.home() / ".cache" / "deq"
    assert package not in cache_folder().parents


def test_bad_geometry() -> None:
    with pytest.raises(ValueError, match="image_size >= 2"):
        SparseParallelBeamCT(1, 5)
    with pytest.raises(TypeError, match="must be ints"):
        SparseParallelBeamCT(8.0, 5)
