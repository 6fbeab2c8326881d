"""SD-RED (eq. 4) and PnP-PGM (eq. 5-6) as maps and as equilibrium models: the same fixed points, the implicit
gradient of eq. 9 against unrolled autograd (float64), the plain iteration, padding for U-Nets, input checks."""

from __future__ import annotations

import pytest
import torch

from deq.core.solvers import anderson
from deq.models.mismatch.maps import PGMMap, SDREDMap, denoise_padded
from deq.models.mismatch.models import SDRED, PnPPGM
from deq.operators.kernels import gaussian_kernel
from deq.operators.mri import CartesianMRI, radial_mask
from deq.operators.sr import SuperResolution
from deq.priors.unet import UNet


class Shrink(torch.nn.Module):
    """A small learnable denoiser ``D(x) = x/2 + tanh(conv(x)) / 10`` with ``||conv|| <= 1``: ``x - D(x)`` has a
    Jacobian ``I/2 - diag(.) W / 10`` (monotone, Lipschitz <= 0.6), so both maps are contractions."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1).double()
        with torch.no_grad():
            self.conv.weight.mul_(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x + 0.1 * torch.tanh(self.conv(x))


def contractive_denoiser(channels: int = 1) -> Shrink:
    return Shrink(channels)


def sr_problem(size: int = 16, factor: int = 2):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, size, size, generator=g, dtype=torch.float64)
    op = SuperResolution(gaussian_kernel(5, 1.0, dtype=torch.float64), factor)
    return x, op, op(x) + 0.01 * torch.randn(2, 1, size // factor, size // factor, generator=g, dtype=torch.float64)


def mri_problem(size: int = 16):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, size, size, generator=g, dtype=torch.float64)
    op = CartesianMRI(radial_mask((size, size), 0.3).double()).real_input()
    return x, op, op(x)


def solve(f, x0):
    with torch.no_grad():
        z, info = anderson(f, x0, tol=1e-12, max_iter=400, m=5)
    assert bool(info.converged.all()), info.summary()
    return z


@pytest.mark.parametrize("problem", [sr_problem, mri_problem], ids=["super-resolution", "mri"])
def test_sd_red_and_pnp_pgm_share_their_fixed_point(problem):
    x, op, y = problem()
    d = contractive_denoiser()
    red, pgm = SDREDMap(d, gamma=0.5, tau=0.7), PGMMap(d, gamma=0.5, tau=0.7)
    z_red = solve(lambda z: red(z, y, op), op.adjoint(y))
    z_pgm = solve(lambda z: pgm(z, y, op), op.adjoint(y))
    assert float((z_red - z_pgm).norm() / z_red.norm()) < 1e-8
    # the fixed point balances the data term and the RED term: A^H(Ax - y) + tau (x - D(x)) = 0
    with torch.no_grad():
        stationarity = op.adjoint(op(z_red) - y) + 0.7 * (z_red - d(z_red))
    assert float(stationarity.norm()) < 1e-8 * float(z_red.norm())


def test_pnp_pgm_prox_is_eq_6():
    """``prox(z) = (gamma A^T A + I)^{-1}(z + gamma A^T y)``: the map equals that solve, checked by applying the
    inverse's argument back."""
    x, op, y = sr_problem()
    d = contractive_denoiser()
    pgm = PGMMap(d, gamma=0.3, tau=0.5)
    out = pgm(x, y, op)
    z = x - 0.3 * 0.5 * (x - d(x))
    assert torch.allclose(0.3 * op.adjoint(op(out)) + out, z + 0.3 * op.adjoint(y), atol=1e-10)


def test_sd_red_map_is_eq_4():
    x, op, y = mri_problem()
    d = contractive_denoiser()
    out = SDREDMap(d, gamma=0.4, tau=0.2)(x, y, op)
    grad = torch.fft.ifft2(op.op.mask[0] * (torch.fft.fft2(x, norm="ortho") - y), norm="ortho").real
    assert torch.allclose(out, x - 0.4 * (grad + 0.2 * (x - d(x))), atol=1e-12)


@pytest.mark.parametrize(("cls", "problem"), [(SDRED, mri_problem), (PnPPGM, sr_problem)], ids=["sd-red", "pnp-pgm"])
def test_implicit_gradient_matches_unrolled_autograd(cls, problem):
    """eq. 9 (IFT, Anderson backward) against autograd through 300 plain iterations from the fixed point's start."""
    x, op, y = problem()
    tight = {"tol": 1e-11, "max_iter": 500, "backward_tol": 1e-11, "backward_max_iter": 500}
    model = cls(contractive_denoiser(), gamma=0.5, tau=0.7, solver=tight).train()

    def grads(loss: torch.Tensor) -> list[torch.Tensor]:
        return torch.autograd.grad(loss, [p for p in model.parameters()])

    x_bar, info = model(y, op)
    assert bool(info.converged.all())
    implicit = grads(0.5 * (x_bar - x).pow(2).sum())
    unrolled = grads(0.5 * (model.iterate(y, op, 300) - x).pow(2).sum())
    for a, b in zip(implicit, unrolled):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-9)
    assert any(float(a.abs().max()) > 1e-6 for a in implicit)


def test_plain_iteration_and_solver_reach_the_same_reconstruction():
    x, op, y = sr_problem()
    model = PnPPGM(contractive_denoiser(), gamma=0.5, tau=0.7, solver={"tol": 1e-10, "max_iter": 400}).eval()
    with torch.no_grad():
        plain = model.iterate(y, op, 400)
    assert torch.allclose(model.reconstruct(y, op), plain, atol=1e-8)


def test_pnp_pgm_starts_from_the_bicubic_upsampling_for_super_resolution():
    _, op, y = sr_problem(factor=2)
    model = PnPPGM(contractive_denoiser(), gamma=0.5, tau=0.7)
    x0 = model.initial(y, op)
    assert x0.shape == (2, 1, 16, 16)
    assert torch.allclose(x0[..., ::2, ::2].mean(), y.mean(), atol=0.05)


def test_unet_inputs_are_padded_to_its_multiple_and_cropped_back():
    net = UNet(3, base=4, levels=3).double()
    x = torch.rand(1, 3, 21, 30, dtype=torch.float64)
    out = denoise_padded(net, x, 4)
    assert out.shape == x.shape
    with pytest.raises(ValueError, match="divisible by 4"):
        net(x)
    padded = torch.nn.functional.pad(x, (0, 2, 0, 3), mode="reflect")
    assert torch.equal(out, net(padded)[..., :21, :30])


def test_bad_settings_and_inputs_name_what_was_expected():
    d = contractive_denoiser()
    with pytest.raises(ValueError, match="gamma and tau must be positive"):
        SDREDMap(d, gamma=0.0, tau=1.0)
    model = SDRED(d, gamma=1.0, tau=0.5)
    x, op, y = mri_problem()
    with pytest.raises(ValueError, match=r"real_input\(\)"):
        model.reconstruct(y, op.op)
    with pytest.raises(ValueError, match="NaN/Inf"):
        model.reconstruct(y * float("nan"), op)
