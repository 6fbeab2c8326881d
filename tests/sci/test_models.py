"""GAP-TV, PnP, DE-GAP and DE-RNN on tiny problems; implicit gradients against unrolled autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deq.core.metrics import psnr
from deq.models.sci.degap import DEGAP
from deq.models.sci.dernn import DERNN
from deq.models.sci.gap import initial_estimate
from deq.models.sci.models import GapTV, PnPADMM, PnPGAP
from deq.models.sci.synthetic import demo_scene
from deq.models.sci.video import FrameWindow, frame_windows
from deq.operators.sci import CACTI
from deq.priors.cnn import CNN
from deq.priors.tv import TVDenoiser


@pytest.fixture(scope="module")
def scene():
    video, mask = demo_scene(32, frames=8, seed=1)
    op = CACTI(mask)
    return video, op, op(video)


def test_gap_tv_improves_psnr(scene):
    video, op, y = scene
    x0 = initial_estimate(op, y)
    x = GapTV(n_iter=10).reconstruct(y, op)
    assert x.shape == video.shape
    assert float(psnr(x.clamp(0, 1), video)) > float(psnr(x0.clamp(0, 1), video)) + 3.0


@pytest.mark.parametrize("cls", [PnPGAP, PnPADMM])
def test_pnp_with_a_given_denoiser_improves_psnr(scene, cls):
    video, op, y = scene
    model = cls(denoiser=TVDenoiser(n_iter=10), sigmas=(0.1, 0.05), iters=(4, 4))
    x0 = initial_estimate(op, y)
    assert float(psnr(model.reconstruct(y, op).clamp(0, 1), video)) > float(psnr(x0.clamp(0, 1), video)) + 2.0


def test_frame_windows_and_framewise_wrapper():
    x = torch.arange(2 * 4 * 3 * 3, dtype=torch.float32).reshape(2, 1, 4, 3, 3)
    w = frame_windows(x, 1)
    assert w.shape == (8, 3, 3, 3)
    assert torch.equal(w[1], x[0, 0, 0:3]) and torch.equal(w[0, 0], x[0, 0, 1]) and torch.equal(w[0, 1], x[0, 0, 0])
    with pytest.raises(TypeError, match="is not a deq Prior"):
        FrameWindow(nn.Identity(), radius=0)
    with pytest.raises(ValueError, match="3 input channels"):
        FrameWindow(CNN(in_channels=1), radius=1)
    assert torch.equal(FrameWindow(_Center(), radius=1)(x), x)


class _Center(nn.Module):  # a deq.core.prior.Prior that returns its input
    in_channels, takes_sigma, lipschitz, video = 3, False, None, False

    def forward(self, x, sigma=None):
        return x


def _tiny_degap() -> DEGAP:
    torch.manual_seed(0)
    cnn = CNN(in_channels=3, depth=3, width=4, residual=False).double()  # default init: a contractive D
    cfg = {"tol": 1e-10, "max_iter": 60, "backward_tol": 1e-10, "backward_max_iter": 60}
    return DEGAP(FrameWindow(cnn, radius=1), cfg)


def _problem():
    g = torch.Generator().manual_seed(0)
    video = torch.rand(1, 1, 4, 8, 8, generator=g, dtype=torch.float64)
    op = CACTI((torch.rand(4, 8, 8, generator=g) > 0.5).double())
    return video, op, op(video)


def test_degap_implicit_gradient_matches_unrolled_autograd():
    video, op, y = _problem()
    model = _tiny_degap()
    x, info = model(y, op)
    assert bool(info.converged.all())
    loss = (x - video).pow(2).sum()
    loss.backward()
    g_ift = [p.grad.clone() for p in model.map.parameters()]
    model.zero_grad()
    x_unrolled = model.iterate(y, op, 80)  # the same map iterated with a full graph
    (x_unrolled - video).pow(2).sum().backward()
    g_unr = [p.grad.clone() for p in model.map.parameters()]
    assert torch.allclose(x, x_unrolled, atol=1e-8)
    for a, b in zip(g_ift, g_unr):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-8)
    lip = model.lipschitz_at(x.detach(), y, op)
    assert 0 < float(lip["lipschitz"]) < 1 and float(lip["eta"]) > float(lip["lipschitz"])


def test_degap_gradient_wrt_measurement_matches_finite_differences():
    video, op, y = _problem()
    model = _tiny_degap()
    y = y.clone().requires_grad_()
    x, _ = model(y, op)
    (x * video).sum().backward()
    direction = torch.randn_like(y)
    eps = 1e-5
    with torch.no_grad():
        fd = ((model(y + eps * direction, op)[0] - model(y - eps * direction, op)[0]) * video).sum() / (2 * eps)
    assert float((y.grad * direction).sum()) == pytest.approx(float(fd), rel=1e-4)


def test_degap_reconstruct_restores_mode_and_checks_inputs():
    _, op, y = _problem()
    model = _tiny_degap().train()
    x = model.reconstruct(y, op)
    assert x.shape == (1, 1, 4, 8, 8) and model.training and not x.requires_grad
    with pytest.raises(ValueError, match="same height and width"):
        model.reconstruct(torch.zeros(1, 1, 8, 6, dtype=torch.float64), op)
    with pytest.raises(TypeError, match="gap_projection"):
        model.reconstruct(y, nn.Identity())


def test_dernn_is_contractive_and_trains():
    video, op, y = _problem()
    model = DERNN(width=4, solver={"tol": 1e-5, "max_iter": 30, "backward_tol": 1e-5, "backward_max_iter": 30}).double()
    x, info = model(y, op)
    assert x.shape == video.shape and bool(info.converged.all())
    (x - video).pow(2).mean().backward()
    grads = [p.grad for p in model.map.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert float(model.lipschitz_at(x.detach(), y, op)["lipschitz"]) < 1.0


def test_dernn_training_forward_uses_one_map_and_its_gradient_matches_unrolled():
    """In training mode the spectral-normalized convolutions are fixed once per solve, so the IFT gradient is
    the gradient of the equilibrium of one map: it equals autograd through that same map iterated to
    convergence (the normalized weights fixed the same way: ``iterate`` runs in the same solve scope)."""
    video, op, y = _problem()
    torch.manual_seed(0)
    cfg = {"tol": 1e-11, "max_iter": 80, "backward_tol": 1e-11, "backward_max_iter": 80}
    model = DERNN(width=4, coeff=0.6, solver=cfg).double().train()
    model(y, op)  # first call: 200 power steps at this size; later calls take one step each
    layers = [m for m in model.modules() if hasattr(m, "_u")]
    states = [m._u.clone() for m in layers]
    x, info = model(y, op)
    assert bool(info.converged.all()) and int(info.nstep.max()) > 3
    (x - video).pow(2).sum().backward()
    g_ift = [p.grad.clone() for p in model.map.parameters()]
    model.zero_grad()
    for m, u in zip(layers, states):  # replay the power-iteration state the solve above started from
        m._u = u
    x_unrolled = model.iterate(y, op, 100)
    (x_unrolled - video).pow(2).sum().backward()
    g_unr = [p.grad.clone() for p in model.map.parameters()]
    assert torch.allclose(x, x_unrolled, atol=1e-8)
    for a, b in zip(g_ift, g_unr):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-9)


def test_pnp_gap_default_denoiser_is_the_shipped_awgn_one():
    from deq.models.sci.models import MissingWeightsError

    try:
        model = PnPGAP(iters=1)
    except MissingWeightsError as exc:
        pytest.skip(str(exc))
    video, mask = demo_scene(16, frames=4)
    op = CACTI(mask)
    x = model.reconstruct(op(video), op)
    assert x.shape == video.shape and torch.isfinite(x).all() and len(model.schedule) == 4


@pytest.mark.parametrize("name", ["gap-tv", "de-gap"])
def test_a_measurement_with_nan_or_inf_is_refused(name):
    from deq.core.registry import create

    video, op, y = _problem()
    y = y.float().clone()
    y[0, 0, 1, 2] = float("inf")
    model = create("model", name, **({"n_iter": 2} if name == "gap-tv" else {"denoiser_options": {"depth": 2, "width": 4}}))
    with pytest.raises(ValueError, match="1 NaN/Inf value"):
        model.reconstruct(y, CACTI(op.mask[0, 0].float()))


class _Shrink(nn.Module):  # D(v) = a v: the accelerated map's fixed point has a closed form
    def __init__(self, a: float) -> None:
        super().__init__()
        self.a = a

    def forward(self, v):
        return self.a * v


@pytest.mark.parametrize("a", [0.5, 0.9])
def test_accelerated_degap_fits_the_data_where_the_paper_map_does_not(a):
    # with D = a I (a < 1) the fixed point of (8')-(9) solves Phi x = y with x in the range of Phi^T: the minimum-norm
    # solution Phi^T (Phi Phi^T)^{-1} y; the paper's map (14-15) stops at x = a GAP(x), which does not fit y
    video, op, y = _problem()
    cfg = {"tol": 1e-12, "max_iter": 200}
    x, info = DEGAP(_Shrink(a), cfg, accelerate=True)(y, op)
    assert bool(info.converged.all()) and x.shape == video.shape
    assert torch.allclose(x, op.project(torch.zeros_like(video), y), atol=1e-9)
    assert float((op(x) - y).norm() / y.norm()) < 1e-9
    plain, _ = DEGAP(_Shrink(a), cfg)(y, op)
    assert float((op(plain) - y).norm() / y.norm()) > 0.05


class _Blur(nn.Module):  # a learnable linear smoother (norm < 1): the accelerated fixed point exists
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        k = torch.full((1, 1, 1, 3, 3), 0.05, dtype=torch.float64) + 0.02 * torch.rand(
            1, 1, 1, 3, 3, generator=g, dtype=torch.float64
        )
        k[..., 1, 1] = 0.5
        self.kernel = nn.Parameter(k)

    def forward(self, v):
        return torch.nn.functional.conv3d(v, self.kernel, padding=(0, 1, 1))


def test_accelerated_degap_implicit_gradient_matches_unrolled_autograd_and_takes_video_starts():
    # a fixed point of (8')-(9) needs a denoiser whose range meets {Phi x = y}: a random CNN need not have one
    # (its solve stalls), a linear smoother does
    video, op, y = _problem()
    cfg = {"tol": 1e-10, "max_iter": 100, "backward_tol": 1e-10, "backward_max_iter": 100}
    model = DEGAP(_Blur(), cfg, accelerate=True)
    x, info = model(y, op)
    assert bool(info.converged.all()) and x.shape == video.shape
    (x - video).pow(2).sum().backward()
    g_ift = [p.grad.clone() for p in model.map.parameters()]
    model.zero_grad()
    x_unrolled = model.iterate(y, op, 150)
    (x_unrolled - video).pow(2).sum().backward()
    assert torch.allclose(x, x_unrolled, atol=1e-8)
    for a, b in zip(g_ift, [p.grad for p in model.map.parameters()]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-8)
    with torch.no_grad():  # a video start (packed with the accumulator y) reaches the same fixed point
        assert torch.allclose(model(y, op, x0=torch.zeros_like(video))[0], x, atol=1e-8)
    with pytest.raises(ValueError, match="Theorem 2 does not apply"):
        model.lipschitz_at(x.detach(), y, op)


def test_dernn_takes_the_accelerated_state_with_the_same_weights():
    video, op, y = _problem()
    torch.manual_seed(0)
    plain = DERNN(width=3, solver={"max_iter": 5}).double()
    accel = DERNN(width=3, solver={"max_iter": 5}, accelerate=True).double()
    accel.load_state_dict(plain.state_dict())  # the state is not a weight: the same file serves both
    assert accel.accelerate and not plain.accelerate
    x = accel.reconstruct(y, op)
    assert x.shape == video.shape and not torch.allclose(x, plain.reconstruct(y, op))
    assert accel.iterate(y, op, 2, x0=torch.zeros_like(video)).shape == video.shape
