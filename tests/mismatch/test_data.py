"""The experiments' data: disjoint splits (no test image trains or selects anything), the duplicate
ADMM-Net brain images, the chosen kernels, and the operators on the real masks and kernels (adjoint test and
gradient check)."""

from __future__ import annotations

import pytest
import torch

from deq.core.operator import adjoint_test
from deq.models.mismatch import data


def test_mri_splits_are_disjoint_and_the_test_split_is_the_papers_ten():
    s = data.MRI_SPLITS
    assert s.test == tuple(range(1, 11))
    assert not set(s.test) & set(s.validation) and not set(s.test) & set(s.train) and not set(s.train) & set(s.validation)
    assert len(s.test) + len(s.validation) + len(s.train) == 50


def test_admmnet_brain_images_duplicate_ista_images_so_they_are_left_out(shared_data):
    from deq.core.images import read_mat

    shared_data(data.MRI_IMAGES)
    ista = data.brain_images(range(1, 51))
    for i, number in ((1, 11), (2, 50)):
        im = torch.from_numpy(read_mat(shared_data(f"mri/ADMMNet_Brain_data/Brain_data{i}.mat"))["im_ori"]).float()
        distances = (ista[:, 0] - im).abs().flatten(1).mean(1)
        assert int(distances.argmin()) + 1 == number and float(distances.min()) < 2e-3
    assert "Brain_data" not in " ".join(str(p) for p in data.MRI_CHEST)


@pytest.mark.parametrize("ratio", data.MRI_RATIOS)
def test_mri_masks_sample_the_papers_fractions_and_the_operator_is_adjoint(shared_data, ratio):
    shared_data(data.MRI_MASK.format(ratio=ratio))
    mask = data.mri_mask(ratio)
    assert float(mask.mean()) == pytest.approx(ratio / 100 + 0.002, abs=0.001)
    op = data.mri_operator(mask)
    assert adjoint_test(op, (1, 1, 256, 256)) < 1e-12
    x = torch.rand(1, 1, 256, 256, dtype=torch.float64)
    assert torch.allclose(op.adjoint(op(x)), torch.fft.ifft2(mask * torch.fft.fft2(x, norm="ortho"), norm="ortho").real)


def test_the_mri_operator_passes_a_gradient_check_on_a_cropped_mask(shared_data):
    shared_data(data.MRI_MASK.format(ratio=10))
    op = data.mri_operator(data.mri_mask(10)[:8, :8].double())
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: torch.view_as_real(op(v)), (x,))
    y = torch.randn(1, 1, 8, 8, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(op.adjoint, (y,))


def test_kernels_are_b_d_e_isotropic_1_2_and_2_0_then_the_first_anisotropic(shared_data):
    shared_data(data.KERNELS_FILE)
    stds = [data.kernel_std(k) for k in data.sr_kernels()]
    assert stds[0] == pytest.approx((1.2, 1.2), abs=0.01)
    assert stds[1] == pytest.approx((2.0, 2.0), abs=0.01)
    assert stds[2] == pytest.approx((1.414, 2.646), abs=0.01)
    assert all(abs(float(k.sum()) - 1) < 1e-5 for k in data.sr_kernels(range(8)))
    with pytest.raises(ValueError, match="out of range"):
        data.sr_kernels([12])


def test_the_sr_operator_on_a_paper_kernel_is_adjoint_and_differentiable(shared_data):
    shared_data(data.KERNELS_FILE)
    kernel = data.sr_kernels([1])[0].double()
    op = data.sr_operator(kernel, 3)
    assert adjoint_test(op, (2, 3, 36, 36)) < 1e-12
    x = torch.rand(1, 1, 27, 27, dtype=torch.float64, requires_grad=True)
    y = op(torch.rand(1, 1, 27, 27, dtype=torch.float64))
    assert torch.autograd.gradcheck(op, (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda v: op.prox_l2(v, y, 0.5), (x,), fast_mode=True)


def test_sr_training_images_are_colour_and_never_validation_or_test_images(shared_data):
    for folder in (data.SR_VAL, data.SR_TEST, "natural/Set14", "natural/set3c"):
        shared_data(folder)
    train = data.sr_training_images()
    assert len(train) == 12 + 2 + len(data.SKIMAGE_TRAIN)
    assert all(im.shape[0] == 3 and float((im[0] - im[1]).abs().max()) > 0 for im in train)
    held_out = data.sr_images(data.SR_VAL, 0, 1) + data.sr_images(data.SR_TEST, 0, 1, limit=10)
    for im in train:
        for other in held_out:
            if im.shape == other.shape:
                assert float((im - other).abs().mean()) > 0.01


def test_crops_fit_the_scale():
    im = torch.rand(3, 321, 481)
    assert data.crop_to_multiple(im, 3).shape == (3, 321, 480)
    assert data.center_crop(im, 120).shape == (3, 120, 120)
    with pytest.raises(ValueError, match="exceeds the image"):
        data.center_crop(im, 400)
