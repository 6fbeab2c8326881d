"""Training recipe for LU-DnCNN, DEQ4IP, LUSER-SW and LUSER-DW on one task (LUSER sec. 4: MSE against the
ground truth, Adam, end to end).

    deq train luser --model luser-dw --task ct --out runs/luser-dw-ct          # or: python -m deq.models.luser.train
    deq train luser --model lu-dncnn --task deblur --aux-loss --out runs/lu-aux
    deq train luser --model deq4ip --task mri4x --pretrain-steps 100 --out runs/deq4ip-mri4x
    deq train luser --model lu-dncnn --task mri4x --pretrain-steps 60 --out runs/lu-dncnn-mri4x

Each step draws ``--batch`` ground-truth images of the task (:mod:`deq.models.luser.data`: crops, phantoms or
resized MRI slices, item ``i`` a deterministic function of ``(seed, i)``), simulates the measurement
(:mod:`deq.models.luser.tasks`: the task's operator, a new random column mask per MRI image, noise std 0.01)
and minimises

* the final loss ``||x_K - x||^2`` (mean squared error), or with ``--aux-loss`` the mean over the stages of
  ``||x_k - x||^2`` (the paper's auxiliary loss on intermediate reconstructions; LU models only);
* DEQ4IP and LU-DnCNN (the models with batch norm): first ``--pretrain-steps`` steps on one stage alone,
  ``||f(x_a) - x||^2`` with ``f(x) = D(x + lambda A^T (y - A x))`` from points ``x_a = a x_0 + (1 - a) x + s n``
  between the start and the truth (``a ~ U(0, 1)``, ``s ~ U(0, 0.1)``; batch norm in training mode learns its
  statistics there, as Gilton et al. pre-train the denoiser), then the end-to-end loss above (DEQ4IP: the
  equilibrium ``||x* - x||^2`` with the implicit gradient) with the statistics frozen.

``--max-iter`` / ``--tol`` set the training solves (DEQ4IP's, and the inner solve of every LUSER block, forward
and backward); the weight file stores ``--eval-max-iter`` as the evaluation limit. ``--recompute``: each
equilibrium layer keeps only its input and fixed point and evaluates ``f(z*)`` again in the backward pass
(deq-core's ``SolverConfig.recompute``: the same gradients, LUSER's training memory per sample about 5x lower,
about 1.4x the time per step on this CPU; ``deq bench luser`` measures both). The GPU recipe at the
paper's scale is the same command with ``--size 128`` (or 256), ``--batch 16``, ``--steps 20000``,
``--max-iter 50`` and ``--amp``. The run itself is deq-core's harness (:mod:`deq.core.training`): DDP,
atomic ``--resume``, ``--minutes``, ``--init``, provenance in ``OUT/weights.pt``.
"""

from __future__ import annotations

import argparse
import sys
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from deq.core.metrics import psnr, ssim
from deq.core.training import Recipe, StepContext, main_for
from deq.models.luser.data import datasets
from deq.models.luser.models import FACTORIES, config_of, set_solver_settings
from deq.models.luser.tasks import TASKS, Task, get_task

#: seeds of the validation measurements (masks and noise), apart from any training item's
VAL_SEED = 1_000_000_000


#: one stage ``D(x + lambda A^T (y - A x))`` of the models whose batch norm is pre-trained (``--pretrain-steps``)
PRETRAINED_STAGE = {
    "deq4ip": lambda model, x, y, op: model.map(x, y, op),
    "lu-dncnn": lambda model, x, y, op: model.prox[0](model.step(x, y, op)),
}


def perturbed_start(x: Tensor, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """DEQ4IP's pre-training inputs ``a x_0 + (1 - a) x + s n`` (``a ~ U(0, 1)``, ``s ~ U(0, 0.1)`` per image)."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    a = torch.rand(shape, generator=generator).to(x)
    s = 0.1 * torch.rand(shape, generator=generator).to(x)
    return a * x0 + (1 - a) * x + s * torch.randn(x.shape, generator=generator).to(x)


def evaluate(model: nn.Module, task: Task, images: Tensor, seed: int, batch: int = 8) -> dict[str, Any]:
    """PSNR / SSIM of ``model.reconstruct`` and of the start ``x_0`` on ground truths ``images [N, C, H, W]`` whose
    measurements are simulated with masks/noise from ``seed``; per-image PSNRs in ``"psnr_each"``."""
    rec_p, rec_s, init_p = [], [], []
    for i in range(0, images.shape[0], batch):
        x = images[i : i + batch]
        seeds = [seed + i + j for j in range(x.shape[0])]
        op = task.operator(x.shape[-1], seeds=seeds).to(x.device)
        y = task.measure(x, op, torch.Generator().manual_seed(seed + i))
        out = task.to_image(model.reconstruct(y, op)).clamp(0, 1)
        x0 = task.to_image(model.step.initial(y, op)).clamp(0, 1)
        rec_p.append(psnr(out, x))
        rec_s.append(ssim(out, x))
        init_p.append(psnr(x0, x))
    p, s, p0 = torch.cat(rec_p), torch.cat(rec_s), torch.cat(init_p)
    return {"psnr": float(p.mean()), "ssim": float(s.mean()), "psnr_x0": float(p0.mean()), "psnr_each": p.tolist()}


class LuserRecipe(Recipe):
    """One model on one task (see the module docstring)."""

    name = "luser"
    defaults = {"steps": 200, "batch": 2, "lr": 1e-3, "ckpt_every": 20, "log_every": 5}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", choices=sorted(FACTORIES), required=True, help="the model to train")
        p.add_argument("--task", choices=sorted(TASKS), required=True, help="the inverse problem")
        p.add_argument("--size", type=int, default=32, help="image height and width in pixels")
        p.add_argument("--aux-loss", action="store_true", help="LU models: MSE on every stage's output (mean)")
        p.add_argument(
            "--pretrain-steps", type=int, default=0, help="DEQ4IP, LU-DnCNN: first N steps on one stage (batch-norm statistics)"
        )
        p.add_argument("--max-iter", type=int, default=15, help="training solves: iterations (forward and backward)")
        p.add_argument("--tol", type=float, default=1e-3, help="training solves: relative tolerance (forward and backward)")
        p.add_argument("--eval-max-iter", type=int, default=50, help="iterations of the solves in evaluation (stored)")
        p.add_argument(
            "--recompute", action="store_true", help="equilibrium layers evaluate f(z*) again in the backward (less memory)"
        )
        p.add_argument("--val-items", type=int, default=8, help="validation images (deblurring crops, CT phantoms)")

    def check(self) -> None:
        o = self.options
        if o["aux_loss"] and o["model"] == "deq4ip":
            raise ValueError("--aux-loss applies to the loop-unrolled models; DEQ4IP has no stages")
        if o["pretrain_steps"] and o["model"] not in PRETRAINED_STAGE:
            raise ValueError("--pretrain-steps applies to the models with batch norm (DEQ4IP, LU-DnCNN): it learns statistics")

    @cached_property
    def task(self) -> Task:
        return get_task(self.options["task"])

    def solver(self) -> dict[str, Any] | None:
        o = self.options
        if o["model"] == "lu-dncnn":
            return None
        return {
            "tol": o["tol"],
            "max_iter": o["max_iter"],
            "eval_max_iter": o["eval_max_iter"],
            "backward_tol": o["tol"],
            "backward_max_iter": o["max_iter"],
            "recompute": o["recompute"],
        }

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        self.check()
        o = self.options
        solver = self.solver()
        model = FACTORIES[o["model"]](task=o["task"], **({"solver": solver} if solver else {}))
        set_solver_settings(model, warn_unconverged=False)  # training logs the iteration counts instead of warning
        return model, "model", o["model"], config_of(o["model"], model, solver)

    @cached_property
    def data(self) -> tuple[Dataset, Dataset, str]:
        o = self.options
        return datasets(o["task"], o["size"], self.settings.seed, self.settings.data_dir, o["val_items"])

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        ds = self.data[0]
        idx = ctx.items(len(ds))
        images = torch.stack([ds[i] for i in idx]).to(ctx.device)
        op = self.task.operator(images.shape[-1], seeds=idx).to(ctx.device)
        y = self.task.measure(images, op, ctx.generator)
        x = self.task.to_model(images)
        o = self.options
        if ctx.step < o["pretrain_steps"]:
            start = perturbed_start(x, model.step.initial(y, op), ctx.generator)
            loss = nn.functional.mse_loss(PRETRAINED_STAGE[o["model"]](model, start, y, op), x)
            loss.backward()
            return {"loss": float(loss.detach()), "iters": 1.0}
        if o["aux_loss"]:
            outs, info = model(y, op, return_all=True)
            loss = torch.stack([nn.functional.mse_loss(out, x) for out in outs]).mean()
        else:
            out, info = model(y, op)
            loss = nn.functional.mse_loss(out, x)
        loss.backward()
        return {"loss": float(loss.detach()), "iters": _iterations(info)}

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        val = self.data[1]
        images = torch.stack([val[i] for i in range(len(val))]).to(device)
        r = evaluate(model, self.task, images, VAL_SEED)
        return {"val_psnr": r["psnr"], "val_ssim": r["ssim"], "val_psnr_x0": r["psnr_x0"]}

    def data_note(self) -> str:
        return f"task {self.task.name} ({self.task.description}); {self.data[2]}"


def _iterations(info: Any) -> float:
    """Mean solver iterations of a step: DEQ4IP's solve, or the LUSER blocks' inner solves (0: none)."""
    steps = getattr(info, "nstep", None)
    if steps is None:
        steps = getattr(info, "inner_iterations", None)
    return float(steps.float().mean()) if steps is not None else 0.0


def main(argv: list[str] | None = None) -> int:
    """``deq train luser --model M --task T [flags]``; see ``--help``."""
    return main_for(LuserRecipe, argv, "deq train luser", __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
