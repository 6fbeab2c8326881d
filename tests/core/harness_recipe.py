"""A tiny float64 DEQ recipe for the harness tests, runnable as a script (so that ``torchrun`` and
subprocesses can start it): ``python harness_recipe.py --out DIR [harness flags] [--sleep S]``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch
from torch import nn

from deq.core import DEQ
from deq.core.training import Recipe, StepContext, main_for


class TinyDEQ(nn.Module):
    """``z* = act(W z* + U x)`` (``z`` of size ``width``, ``x`` of size 6, ``act`` tanh or sin) with a readout
    ``V z*``, float64."""

    def __init__(self, width: int = 6, act: str = "tanh") -> None:
        super().__init__()
        self.act = getattr(torch, act)
        self.W = nn.Parameter(0.3 * torch.randn(width, width, dtype=torch.float64) / width**0.5)
        self.U = nn.Parameter(torch.randn(width, 6, dtype=torch.float64) / 6**0.5)
        self.V = nn.Parameter(torch.randn(6, width, dtype=torch.float64) / width**0.5)
        self.deq = DEQ(self.step, tol=1e-10, max_iter=100, backward_tol=1e-10)

    def step(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.act(z @ self.W.T + x @ self.U.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z0 = x.new_zeros(x.shape[0], self.W.shape[0])
        return self.deq(z0, x)[0] @ self.V.T


def item(i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dataset item ``i``: a fixed input and target, a function of ``i`` only."""
    g = torch.Generator().manual_seed(1000 + i)
    x = torch.randn(6, generator=g, dtype=torch.float64)
    return x, torch.sin(x).flip(0) * 0.5


class TinyRecipe(Recipe):
    name = "tiny"
    defaults = {"steps": 12, "batch": 4, "lr": 1e-2}
    architecture = ("width", "act")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sleep", type=float, default=0.0, help="seconds to sleep per step (kill tests)")
        parser.add_argument("--noise", type=float, default=0.0, help="input noise drawn from the step generator")
        parser.add_argument("--width", type=int, default=6, help="size of the state z")
        parser.add_argument("--act", choices=("tanh", "sin"), default="tanh", help="activation of the map")
        parser.add_argument("--start-file", default=None, help="a file the run reads (weight-file provenance tests)")

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        width, act = self.options["width"], self.options["act"]
        return TinyDEQ(width, act), "model", "tiny", {"width": width, "act": act}

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        time.sleep(self.options["sleep"])
        pairs = [item(i) for i in ctx.items(64)]
        x = torch.stack([p[0] for p in pairs])
        x = x + self.options["noise"] * torch.randn(x.shape, generator=ctx.generator, dtype=x.dtype)
        t = torch.stack([p[1] for p in pairs])
        loss = (model(x) - t).pow(2).mean()
        loss.backward()
        return {"loss": float(loss.detach())}

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        pairs = [item(10_000 + i) for i in range(8)]
        x, t = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
        return {"val_mse": float((model(x) - t).pow(2).mean())}

    def data_note(self) -> str:
        return "generated: items 0..63 train, 10000..10007 validation"

    def weight_files(self) -> list[str]:
        return [self.options["start_file"]] if self.options["start_file"] else []


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main_for(TinyRecipe, sys.argv[1:], "harness_recipe.py", "tiny DEQ recipe"))
