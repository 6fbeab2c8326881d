"""``deq demo core``: solve a small convolutional DEQ with every registered solver and print a
convergence table, then check the implicit gradient against unrolled autograd."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from deq.core.deq import DEQ
from deq.core.registry import components


class ConvTanhMap(nn.Module):
    """``f(z, x) = tanh(W * z + U * x)`` with ``W`` spectrally normalised to ``scale`` (a contraction).

    Shapes: ``z [B, C, H, W]``, ``x [B, C_in, H, W]``. The spectral norm of ``W`` is taken on its reshaped
    weight matrix by ``torch.nn.utils.parametrizations.spectral_norm`` (an approximation of the conv's norm).
    """

    def __init__(self, channels: int = 16, in_channels: int = 3, scale: float = 0.9) -> None:
        super().__init__()
        self.W = nn.utils.parametrizations.spectral_norm(nn.Conv2d(channels, channels, 3, padding=1, bias=False))
        self.U = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.scale = scale

    def forward(self, z: Tensor, x: Tensor) -> Tensor:
        return torch.tanh(self.scale * self.W(z) + self.U(x))


def run(argv: Sequence[str] = ()) -> int:
    """A convolutional DEQ solved by every registered solver; its implicit gradient checked against unrolled autograd."""
    parser = argparse.ArgumentParser(prog="deq demo core", description=__doc__)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(list(argv))
    torch.manual_seed(args.seed)
    f = ConvTanhMap().double().eval()
    with torch.no_grad():  # settle the spectral-norm power iteration
        for _ in range(20):
            f.W(torch.zeros(1, 16, 8, 8, dtype=torch.float64))
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    z0 = torch.zeros(4, 16, 32, 32, dtype=torch.float64)
    print(f"convolutional DEQ z = tanh(0.9 W*z + U*x), batch 4, 16x32x32, tol {args.tol:g} (relative)")
    print(f"{'solver':<12} {'iters':>6} {'rel residual':>13} {'converged':>10} {'time [s]':>9}")
    for comp in components("solver"):
        deq = DEQ(f, solver=comp.name, tol=args.tol, max_iter=args.max_iter)
        t0 = time.perf_counter()
        with torch.no_grad():
            _, info = deq(z0, x)
        dt = time.perf_counter() - t0
        print(
            f"{comp.name:<12} {int(info.nstep.max()):>6} {float(info.rel_residual.max()):>13.2e} "
            f"{int(info.converged.sum())}/{info.converged.numel():<8} {dt:>9.3f}"
        )
    xg = x[:1].clone().requires_grad_()
    z, _ = DEQ(f, tol=1e-12, max_iter=500, backward_tol=1e-12, backward_max_iter=500)(z0[:1], xg)
    (g_ift,) = torch.autograd.grad(z.square().sum(), xg)
    zu = z0[:1]
    for _ in range(200):
        zu = f(zu, xg)
    (g_unrolled,) = torch.autograd.grad(zu.square().sum(), xg)
    rel = float((g_ift - g_unrolled).norm() / g_unrolled.norm())
    print(f"implicit (IFT) gradient vs 200-step unrolled autograd: relative difference {rel:.1e}")
    return 0
