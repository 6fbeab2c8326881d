"""The three tasks' operators and measurements (adjoint tests, norm 1, gradients, the sparse CT operator in use),
the random-ellipse phantoms against ODL, operator-call counting, and the data sets (skipped without shared/data)."""

from __future__ import annotations

import pytest
import torch

from deq.core.operator import adjoint_test
from deq.models.luser.counting import CountingOperator, count_calls
from deq.models.luser.phantoms import EllipseDataset, ellipse_image, random_ellipses
from deq.models.luser.tasks import NOISE_STD, ct_operator, get_task

TASKS = ("deblur", "ct", "mri4x", "mri8x")


@pytest.mark.parametrize("name", TASKS)
def test_task_operators_pass_adjoint_tests_and_have_norm_one(name):
    task = get_task(name)
    op = task.operator(16, seeds=[3, 4]).double()
    shape = (2, task.channels, 16, 16)
    assert adjoint_test(op, shape) < 1e-12
    assert abs(op.norm(shape, n_iter=300, tol=1e-10, dtype=torch.float64) - 1.0) < 1e-3


@pytest.mark.parametrize("name", TASKS)
def test_gradient_through_the_data_step_matches_gradcheck(name):
    from deq.models.luser.step import DataStep

    task = get_task(name)
    op = task.operator(10, seeds=[1]).double()
    step = DataStep(task.channels, task.init).double()
    x = torch.rand(1, task.channels, 10, 10, dtype=torch.float64, requires_grad=True)
    y = op(torch.rand(1, task.channels, 10, 10, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: step(a, b, op), (x, y), fast_mode=True)


def test_learned_kernel_gradient_matches_gradcheck():
    from deq.models.luser.step import DataStep

    op = get_task("deblur").operator(12)
    step = DataStep(3, "measurement", learned_kernel=True).double()
    x = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    y = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    kernel = step.blur.kernel

    def apply(k: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            kernel.copy_(k)
        return step(x, y, op)

    (grad,) = torch.autograd.grad((step(x, y, op) * x).sum(), kernel)
    d = torch.randn_like(kernel)
    eps = 1e-6
    base = kernel.detach().clone()
    with torch.no_grad():
        fd = ((apply(base + eps * d) * x).sum() - (apply(base - eps * d) * x).sum()) / (2 * eps)
        apply(base)
    assert abs(float((grad * d).sum()) - float(fd)) < 1e-6 * abs(float(fd)) + 1e-9


def test_ct_task_uses_the_sparse_ray_transform_scaled_to_norm_one():
    from deq.operators.ct_sparse import SparseParallelBeamCT

    op = ct_operator(16)
    assert isinstance(op.op, SparseParallelBeamCT) and op.op.n_angles == 200
    assert ct_operator(16) is op  # built once per size
    x = torch.rand(1, 1, 16, 16)
    assert torch.allclose(op(x), op.scale * op.op(x))
    assert op.op.angles.max() < torch.pi and op.op.angles.min() > 0  # 200 views spread over 180 degrees


def test_measurements_carry_the_stated_noise():
    g = torch.Generator().manual_seed(0)
    for name in TASKS:
        task = get_task(name)
        x = torch.rand(4, task.image_channels, 32, 32, generator=g)
        op = task.operator(32, seeds=[0, 1, 2, 3])
        noise = task.measure(x, op, g) - op(task.to_model(x))
        mask = task.noise_mask(op)
        std = float(noise.square().sum() / (torch.ones_like(noise) * mask).sum()) ** 0.5
        assert abs(std - NOISE_STD) < 0.1 * NOISE_STD, name
        if name.startswith("mri"):
            assert float((noise * (1 - op.mask)).abs().max()) == 0.0  # unsampled k-space stays empty


def test_mri_masks_keep_the_stated_fraction_of_columns_and_differ_per_image():
    for acc in (4, 8):
        op = get_task(f"mri{acc}x").operator(64, seeds=[0, 1])
        cols = op.mask[:, 0, 0, :]  # [B, W]: whole columns
        assert torch.equal(op.mask[:, 0], cols[:, None, :].expand(-1, 64, -1))
        assert int(cols[0].sum()) == 64 // acc and not torch.equal(cols[0], cols[1])


def test_mri_images_are_two_channels_scored_on_the_magnitude():
    task = get_task("mri4x")
    image = torch.rand(2, 1, 8, 8)
    x = task.to_model(image)
    assert x.shape == (2, 2, 8, 8) and torch.equal(x[:, 1], torch.zeros(2, 8, 8))
    assert torch.allclose(task.to_image(x), image)


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match="expected one of"):
        get_task("celeba")


def test_counting_operator_counts_and_is_the_same_operator():
    op = get_task("ct").operator(16)
    counted = CountingOperator(op).double()
    assert adjoint_test(counted, (1, 1, 16, 16)) < 1e-12
    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: counted(v), (x,), fast_mode=True)
    counted.forward_calls = counted.adjoint_calls = 0
    counted.adjoint(counted(x))
    assert (counted.forward_calls, counted.adjoint_calls) == (1, 1)


def test_deq4ip_applies_the_operator_more_often_than_luser():
    """Table 4 in numbers: an LU model applies A and A^T once per stage (+ A^T y for x_0); DEQ4IP once per solver
    iteration."""
    from deq.core.registry import create

    task = get_task("ct")
    op = task.operator(16)
    y = task.measure(torch.rand(1, 1, 16, 16), op, torch.Generator().manual_seed(0))
    luser = create("model", "luser-sw", task="ct")
    deq = create("model", "deq4ip", task="ct", solver={"max_iter": 30, "tol": 1e-6, "warn_unconverged": False})
    lu_calls = count_calls(luser, op, lambda a: luser.reconstruct(y, a))
    assert (lu_calls.forward, lu_calls.adjoint) == (8, 9)
    deq_calls = count_calls(deq, op, lambda a: deq.reconstruct(y, a))
    assert deq_calls.total > lu_calls.total


def test_phantoms_equal_odls_ellipsoid_phantom():
    odl = pytest.importorskip("odl")
    space = odl.uniform_discr([-1, -1], [1, 1], (24, 24))
    for seed in range(3):
        e = random_ellipses(torch.Generator().manual_seed(seed))
        ref = torch.as_tensor(odl.core.phantom.geometric.ellipsoid_phantom(space, e.numpy().tolist()).data)
        assert torch.allclose(ellipse_image(e, 24), ref.float(), atol=1e-5)


def test_phantom_items_are_deterministic_and_normalised():
    ds = EllipseDataset(16, 10, seed=1)
    a, b = ds[3], ds[3]
    assert torch.equal(a, b) and not torch.equal(ds[3], ds[4])
    assert a.shape == (1, 16, 16) and float(a.min()) == 0.0 and float(a.max()) == 1.0
    assert not torch.equal(EllipseDataset(16, 10, seed=2)[3], a)


def test_test_sets_and_training_data(shared_data):
    from deq.models.luser.data import datasets, load_test_set

    shared_data("ct/XCAT512.mat")
    for task, n, c in (("deblur", 68, 3), ("ct", 4, 1), ("mri4x", 50, 1)):
        images, names = load_test_set(task, 32, limit=None)
        assert images.shape == (n, c, 32, 32) and len(names) == n
        assert float(images.min()) >= 0 and float(images.max()) <= 1
    for task in ("deblur", "ct", "mri4x"):
        train, val, note = datasets(task, 32, seed=0, val_items=2)
        item = train[5]
        assert torch.equal(item, train[5]) and item.shape[-2:] == (32, 32) and note
        assert 0 < len(val) <= 10
