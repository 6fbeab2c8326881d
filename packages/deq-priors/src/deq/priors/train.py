"""Training recipe for AWGN denoisers: ``deq train priors`` (or ``python -m deq.priors.train``).

Trains any registered prior ``D(x, sigma)`` to minimise ``1/2 ||D(x + sigma n, sigma) - x||^2`` (Zhang et al.
2017, eq. 1, on the denoised output) over random patches with flips and rotations, with ``sigma`` fixed or
uniform in a range (blind / noise-level-conditioned training), Adam with a cosine or step schedule over the
steps. Validation: PSNR on held-out images with fixed noise; test: PSNR on test folders at the end, recorded
in the weights' provenance. Everything else — DDP (``torchrun``), atomic checkpoints and ``--resume``, the
wall-clock budget, progress, bf16 on CUDA, provenance — is deq-core's harness (:mod:`deq.core.training`).
Example (the shipped ``ffdnet-gray`` architecture, see docs/priors.md)::

    deq train priors --prior ffdnet --opt depth=10 --opt width=48 --sigma-range 0 50 --patch 64 --batch 32 \\
        --steps 18000 --cosine --out runs/ffdnet --threads 2
"""

from __future__ import annotations

import argparse
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.cli import parse_options
from deq.core.data import find_data
from deq.core.images import PatchDataset, load_images
from deq.core.metrics import psnr
from deq.core.modes import eval_mode
from deq.core.training import Recipe, StepContext, main_for

DEFAULT_TRAIN = "natural/DnCNN_Train400"
DEFAULT_VAL = "natural/Set12"
DEFAULT_TEST = ("natural/BSD68", "natural/Set12")


@torch.no_grad()
def denoising_psnr(model: nn.Module, images: list[Tensor], sigma: float, device: torch.device, seed: int = 1234) -> float:
    """Mean PSNR (dB) of ``model`` on ``images`` ``[C, H, W]`` with AWGN of level ``sigma`` (intensity scale),
    the noise fixed by ``seed``; outputs clipped to ``[0, 1]``."""
    g = torch.Generator().manual_seed(seed)
    scores = []
    with eval_mode(model):
        for im in images:
            noisy = im + sigma * torch.randn(im.shape, generator=g)
            out = model(noisy[None].to(device), sigma)
            scores.append(float(psnr(out.clamp(0, 1).float().cpu(), im[None])[0]))
    return sum(scores) / len(scores)


def _folder(name: str, data_dir: str | None) -> Path:
    return Path(name) if Path(name).is_dir() else find_data(name, data_dir)


class DenoiserRecipe(Recipe):
    """AWGN denoiser training (see the module docstring)."""

    name = "priors"
    architecture = ("prior", "opt", "channels")
    defaults = {"steps": 3000, "batch": 64, "lr": 1e-3}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--prior", default="ffdnet", help="registered prior name (default: ffdnet)")
        p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="prior constructor option (repeatable)")
        p.add_argument(
            "--train",
            default=DEFAULT_TRAIN,
            help=f"training images: a folder, or one relative to the data root ({DEFAULT_TRAIN})",
        )
        p.add_argument("--val", default=DEFAULT_VAL, help=f"held-out validation images ({DEFAULT_VAL})")
        p.add_argument("--val-limit", type=int, default=4, help="validate on the first N validation images (default 4)")
        p.add_argument("--channels", type=int, default=1, choices=(1, 3), help="1: grayscale (luminance), 3: RGB")
        p.add_argument("--sigma", type=float, default=None, help="fixed noise level x/255 (default: --sigma-range)")
        p.add_argument(
            "--sigma-range",
            type=float,
            nargs=2,
            default=(0.0, 50.0),
            metavar=("LO", "HI"),
            help="uniform noise level range x/255",
        )
        p.add_argument("--val-sigma", type=float, default=25.0, help="validation noise level x/255")
        p.add_argument("--patch", type=int, default=50, help="training patch size in pixels")
        p.add_argument("--cosine", action="store_true", help="cosine learning-rate decay to lr/100 over --steps")
        p.add_argument("--milestones", type=int, nargs="*", default=[], help="steps at which the lr is multiplied by --gamma")
        p.add_argument("--gamma", type=float, default=0.1, help="lr factor at each milestone")
        p.add_argument("--test", nargs="*", default=list(DEFAULT_TEST), help="test folders measured at the end (none: skip)")
        p.add_argument("--test-sigmas", type=float, nargs="*", default=[15.0, 25.0, 50.0], help="test noise levels x/255")

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        from deq.core.registry import create

        config = parse_options(self.options["opt"])
        return create("prior", self.options["prior"], **config), "prior", self.options["prior"], config

    def optimizer(self, model: nn.Module):
        opt = torch.optim.Adam(model.parameters(), lr=self.settings.lr)
        if self.options["cosine"]:
            return opt, torch.optim.lr_scheduler.CosineAnnealingLR(
                opt, T_max=self.settings.steps, eta_min=self.settings.lr * 1e-2
            )
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=self.options["milestones"], gamma=self.options["gamma"])

    @cached_property
    def patches(self) -> PatchDataset:
        images = load_images(_folder(self.options["train"], self.settings.data_dir), self.options["channels"])
        return PatchDataset(images, self.options["patch"], length=2**31 - 1, seed=self.settings.seed)

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        clean = torch.stack([self.patches[i] for i in ctx.items(len(self.patches))])
        lo, hi = (self.options["sigma"],) * 2 if self.options["sigma"] is not None else self.options["sigma_range"]
        b = clean.shape[0]
        sigma = (lo + (hi - lo) * torch.rand(b, generator=ctx.generator)) / 255.0
        noisy = clean + sigma.view(b, 1, 1, 1) * torch.randn(clean.shape, generator=ctx.generator)
        clean, noisy, sigma = clean.to(ctx.device), noisy.to(ctx.device), sigma.to(ctx.device)
        loss = 0.5 * (model(noisy, sigma).float() - clean).pow(2).flatten(1).sum(1).mean()
        loss.backward()
        return {"loss": float(loss.detach())}

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        images = load_images(
            _folder(self.options["val"], self.settings.data_dir), self.options["channels"], self.options["val_limit"]
        )
        return {
            f"val_psnr_sigma{self.options['val_sigma']:g}": denoising_psnr(model, images, self.options["val_sigma"] / 255, device)
        }

    def test(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.options["test"]:
            images = load_images(_folder(name, self.settings.data_dir), self.options["channels"])
            out[Path(name).name] = {
                f"{s:g}": round(denoising_psnr(model, images, s / 255, device), 3) for s in self.options["test_sigmas"]
            }
        if out:
            out["protocol"] = "AWGN with a fixed seed (1234), outputs clipped to [0, 1], PSNR on 8-bit images scaled to [0, 1]"
        return out

    def data_note(self) -> str:
        return (
            f"train {self.options['train']} ({self.options['patch']}x{self.options['patch']} patches, flips and rotations), "
            f"validation {self.options['val']} (first {self.options['val_limit']} images), "
            f"test {', '.join(self.options['test']) or 'none'}"
        )


def main(argv: list[str] | None = None) -> int:
    """``deq train priors [flags]``; see ``--help``."""
    return main_for(DenoiserRecipe, argv, "deq train priors", __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
