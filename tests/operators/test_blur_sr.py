"""Blur and super-resolution: FFT vs spatial, the real kernel files, LUSER's kernel, bad input."""

from __future__ import annotations

import pytest
import torch

from deq.operators import Blur, SuperResolution, gaussian_kernel


def test_gaussian_kernel_luser_setting() -> None:
    k = gaussian_kernel(9, 5**0.5, dtype=torch.float64)
    assert k.shape == (9, 9) and torch.isclose(k.sum(), torch.tensor(1.0, dtype=torch.float64))
    from scipy.signal.windows import gaussian

    window = torch.from_numpy(gaussian(9, std=5**0.5))
    expected = torch.outer(window, window)
    assert torch.allclose(k, expected / expected.sum())


def test_fft_and_spatial_circular_agree_and_rgb_uses_one_kernel() -> None:
    k, x = torch.rand(5, 4, dtype=torch.float64), torch.randn(2, 3, 12, 11, dtype=torch.float64)
    y = Blur(k)(x)
    assert torch.allclose(y, Blur(k, method="spatial", boundary="circular")(x))
    assert torch.allclose(y[:, 1], Blur(k)(x[:, 1:2])[:, 0])


def test_delta_kernel_is_identity_for_all_boundaries() -> None:
    delta = torch.zeros(3, 3)
    delta[1, 1] = 1
    x = torch.randn(1, 1, 7, 6)
    for boundary in ("circular", "zeros", "reflect", "replicate"):
        assert torch.allclose(Blur(delta, method="spatial", boundary=boundary)(x), x)
    assert torch.allclose(Blur(delta)(x), x, atol=1e-6)


def test_sr_is_blur_then_decimation() -> None:
    k, x = gaussian_kernel(7, 1.5), torch.randn(2, 3, 12, 8)
    assert torch.allclose(SuperResolution(k, 2)(x), Blur(k)(x)[..., ::2, ::2], atol=1e-6)


def test_kernels_from_benchmark_files(shared_data) -> None:
    from scipy.io import loadmat

    kernels = loadmat(shared_data("kernels/kernels_12.mat"))
    key = next(k for k in kernels if not k.startswith("__"))
    k = torch.as_tensor(kernels[key][0, 0], dtype=torch.float32)
    assert k.shape == (25, 25)
    x = torch.rand(2, 3, 64, 64)
    for op in (Blur(k), SuperResolution(k, 4)):
        from deq.core.operator import adjoint_test

        assert adjoint_test(op, x.shape, dtype=torch.float32) <= 1e-5


def test_kernel_larger_than_image_and_bad_factor() -> None:
    with pytest.raises(ValueError, match=r"at most \[4, 4\]"):
        Blur(torch.rand(5, 5))(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"at most \[4, 4\]"):
        Blur(torch.rand(5, 5), method="spatial", boundary="zeros")(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="not divisible"):
        SuperResolution(torch.rand(3, 3), 4)(torch.rand(1, 1, 10, 12))
    with pytest.raises(ValueError, match="method='spatial'"):
        Blur(torch.rand(3, 3), boundary="reflect")
    with pytest.raises(ValueError, match="expected 1 or 2"):
        Blur(torch.rand(3, 3, 3))(torch.rand(2, 1, 8, 8))  # three per-sample kernels, batch of two


def _fresh(op, kernel: torch.Tensor):
    """An operator like ``op`` built from ``kernel``."""
    if isinstance(op, SuperResolution):
        return SuperResolution(kernel, op.factor)
    return Blur(kernel)


@pytest.mark.parametrize("make", [lambda k: Blur(k), lambda k: SuperResolution(k, 2)], ids=["blur", "sr"])
def test_transfer_function_is_cached_and_invalidated_when_the_kernel_changes(make) -> None:
    k = torch.rand(5, 5, dtype=torch.float64)
    op, x = make(k), torch.randn(2, 3, 12, 8, dtype=torch.float64)
    first = op(x)
    cached = op._spectra._entries
    assert len(op._spectra) == 1 and torch.equal(op(x), first) and len(op._spectra) == 1
    spectrum = next(iter(cached.values()))[2]
    op(x)
    assert next(iter(cached.values()))[2] is spectrum  # reused, not recomputed
    op.kernel.mul_(2.0)  # in-place edit of the buffer
    assert torch.allclose(op(x), 2 * first)
    new = torch.rand(1, 1, 5, 5, dtype=torch.float64)
    op.load_state_dict({"kernel": new})
    assert torch.allclose(op(x), _fresh(op, new[0, 0])(x))
    op.kernel = torch.rand(1, 1, 5, 5, dtype=torch.float64)  # a new tensor, possibly at a recycled address
    assert torch.allclose(op(x), _fresh(op, op.kernel[0, 0])(x))
    assert torch.allclose(op.float()(x.float()), _fresh(op, op.kernel[0, 0].float())(x.float()))


@pytest.mark.parametrize(
    "make", [lambda k: Blur(k, learnable_kernel=True), lambda k: SuperResolution(k, 2, learnable_kernel=True)]
)
def test_learnable_kernel_follows_optimizer_steps(make) -> None:
    op = make(torch.rand(5, 5, dtype=torch.float64))
    x, target = torch.randn(2, 1, 8, 8, dtype=torch.float64), torch.randn(2, 1, 8, 8, dtype=torch.float64)
    assert isinstance(op.kernel, torch.nn.Parameter) and [p for p in op.parameters()] == [op.kernel]
    with torch.no_grad():
        op(x)  # fills the cache outside the graph
    opt = torch.optim.SGD(op.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (op.adjoint(op(x)) - target).pow(2).sum().backward()
        assert op.kernel.grad is not None and float(op.kernel.grad.abs().sum()) > 0
        opt.step()
        with torch.no_grad():
            assert torch.allclose(op(x), _fresh(op, op.kernel.detach()[0, 0])(x))


def test_luser_learnable_rgb_kernel_counts_243_parameters() -> None:
    op = Blur(gaussian_kernel(9, 5**0.5).expand(1, 3, 9, 9), learnable_kernel=True)
    assert sum(p.numel() for p in op.parameters()) == 243
    assert "kernel" in dict(op.named_parameters()) and "kernel" not in dict(op.named_buffers())


@pytest.mark.parametrize(
    "op",
    [
        Blur(torch.rand(1, 3, 3, 3), learnable_kernel=True),
        Blur(torch.rand(3, 3), method="spatial", boundary="reflect", learnable_kernel=True),
        SuperResolution(torch.rand(3, 3), 2, learnable_kernel=True),
        SuperResolution(torch.rand(2, 1, 3, 3), 2, learnable_kernel=True),
    ],
    ids=["blur-fft-rgb", "blur-spatial", "sr", "sr-per-sample"],
)
def test_gradcheck_with_respect_to_the_kernel(op) -> None:
    op = op.double()
    x, y = torch.randn(2, 3, 6, 6, dtype=torch.float64), torch.randn(2, 3, 6, 6, dtype=torch.float64)
    y = op(y)  # a measurement of the right size
    k = op.kernel.detach().clone().requires_grad_(True)
    methods = ["forward", "adjoint"] + (["prox_l2"] if op.supports("closed_form_prox") else [])
    args = {"forward": (x,), "adjoint": (y,), "prox_l2": (x, y, 0.7)}

    def maps(kernel):
        return tuple(torch.func.functional_call(_Method(op, m), {"op.kernel": kernel}, args[m]) for m in methods)

    assert torch.autograd.gradcheck(maps, (k,), eps=1e-6, atol=1e-6, fast_mode=True)


class _Method(torch.nn.Module):
    """``op.<method>`` as a module's forward, so that ``torch.func.functional_call`` can swap the kernel."""

    def __init__(self, op, method: str) -> None:
        super().__init__()
        self.op, self.method = op, method

    def forward(self, *args):
        return getattr(self.op, self.method)(*args)


def test_sr_with_image_size_checks_both_directions() -> None:
    op = SuperResolution(torch.rand(3, 3), 2, image_size=(8, 6))
    assert op.in_shape == (None, 8, 6) and op.out_shape == (None, 4, 3)
    assert op.adjoint(op(torch.rand(2, 3, 8, 6))).shape == (2, 3, 8, 6)
    with pytest.raises(ValueError, match=r"adjoint input: expected shape \[B, \*, 4, 3\]"):
        op.adjoint(torch.rand(2, 3, 5, 5))  # without image_size this would return a [2, 3, 10, 10] image
    with pytest.raises(ValueError, match=r"expected shape \[B, \*, 8, 6\]"):
        op(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="divisible by the factor 4"):
        SuperResolution(torch.rand(3, 3), 4, image_size=(8, 6))


def test_sr_per_sample_gamma_and_shared_gamma_agree() -> None:
    op = SuperResolution(torch.rand(5, 5, dtype=torch.float64), 2)
    z, y = torch.randn(3, 3, 8, 8, dtype=torch.float64), torch.randn(3, 3, 4, 4, dtype=torch.float64)
    per_sample = op.prox_l2(z, y, torch.full((3,), 0.4, dtype=torch.float64))  # separate FFTs
    assert torch.allclose(per_sample, op.prox_l2(z, y, 0.4))  # pairs of images share an FFT
    assert torch.allclose(per_sample, op.prox_l2(z, y, torch.tensor(0.4, dtype=torch.float64)))
    with pytest.raises(ValueError, match="finite"):
        op.prox_l2(z, y, float("inf"))


def test_learnable_operator_follows_double_for_random_inputs_and_norm() -> None:
    op = SuperResolution(torch.rand(3, 3), 2, image_size=(8, 8), learnable_kernel=True).double()
    assert op.example_input((1, 1, 8, 8)).dtype == torch.float64
    dense = torch.stack([op(torch.eye(64, dtype=torch.float64)[i].reshape(1, 1, 8, 8)).reshape(-1) for i in range(64)], 1)
    assert op.norm((1, 1, 8, 8), n_iter=2000, tol=1e-14) == pytest.approx(
        float(torch.linalg.matrix_norm(dense.detach(), ord=2)), rel=1e-6
    )
