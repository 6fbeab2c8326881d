"""Training recipes of Hu et al.'s priors: ``deq train mismatch awgn|ar --task mri|sr [flags]``.

* ``awgn``: an AWGN denoiser at one noise level (eq. 7: ``min 1/2 ||D(x + sigma n) - x||^2``), deq-priors'
  denoiser recipe (:class:`deq.priors.train.DenoiserRecipe`: its step, loss and schedules) on this paper's
  images: MR images for ``--task mri`` (a DnCNN), colour images for ``--task sr`` (a U-Net); validation PSNR at
  the training noise level on the validation split (:mod:`deq.models.mismatch.data`).
* ``ar``: the artifact-removal prior, trained end to end through the DEQ (eq. 8-9): the equilibrium ``x_bar`` of
  SD-RED (``mri``) or PnP-PGM (``sr``) with a *mismatched* operator ``A'`` against the ground truth,
  ``1/2 ||x_bar(theta) - x||^2``, Nesterov-accelerated forward solve, implicit backward solved by Anderson
  acceleration. The denoiser starts from an AWGN prior (``--awgn``, default the sigma = 5/255 one, as the
  paper). ``A'``: MRI at 10 % radial sampling (whole 256x256 training images, random flips/rotations); SR at
  s = 2 and s = 4 (one scale and one of the three kernels per step, on random ``--patch`` crops, input noise
  0.03). Validation: PSNR on the validation split with the training operators.

Everything else — torchrun DDP, deterministic data from ``(seed, step, rank)``, atomic ``--resume``, ``--init``,
``--minutes``, bf16 on CUDA, provenance in ``OUT/weights.pt`` — is deq-core's harness (:mod:`deq.core.training`).
The GPU recipe of the paper's scale is in docs/mismatch.md.
"""

from __future__ import annotations

import argparse
import sys
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.errors import DeqError
from deq.core.images import PatchDataset
from deq.core.jacobian import jacobian_frobenius
from deq.core.metrics import psnr
from deq.core.solve_scope import solve_scope
from deq.core.training import Recipe, StepContext, main_for
from deq.models.mismatch import data
from deq.models.mismatch.models import MISMATCH_SOLVER, MRI_DENOISER, SR_DENOISER
from deq.priors.train import DenoiserRecipe, denoising_psnr

TASKS = ("mri", "sr")
#: the registered model and default denoiser of each task
TASK_MODEL = {"mri": ("sd-red", MRI_DENOISER), "sr": ("pnp-pgm", SR_DENOISER)}
DATASET_LENGTH = 2**31 - 1


def validation_images(task: str, count: int, crop: int, data_dir: str | None) -> Tensor:
    """The first ``count`` validation images of ``task``: MRI ``brain_test_41..`` ``[N, 1, 256, 256]``; SR the
    central ``crop x crop`` part of Set5's images ``[N, 3, crop, crop]``."""
    if task == "mri":
        return data.brain_images(data.MRI_SPLITS.validation[:count], data_dir)
    return torch.stack(data.sr_images(data.SR_VAL, crop, 12, data_dir, limit=count))


def _augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """A random flip and 90-degree rotation of each image ``[B, C, H, W]`` (square images)."""
    out = []
    for im in x:
        flip, rot = torch.randint(0, 2, (1,), generator=generator).item(), torch.randint(0, 4, (1,), generator=generator).item()
        im = im.flip(-1) if flip else im
        out.append(torch.rot90(im, int(rot), (-2, -1)))
    return torch.stack(out)


class AWGNRecipe(DenoiserRecipe):
    """``deq train mismatch awgn``: deq-priors' AWGN recipe on this paper's training and validation images."""

    name = "mismatch awgn"
    architecture = ("prior", "opt")
    defaults = {"steps": 2000, "batch": 32, "lr": 1e-3, "ckpt_every": 100}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--task", choices=TASKS, required=True, help="mri: grayscale DnCNN on MR images; sr: colour U-Net")
        p.add_argument("--sigma", type=float, required=True, help="noise level x/255 (the paper's set: 1 2 3 5 7 8 10 12 15)")
        p.add_argument("--prior", default=None, help="registered deq-priors denoiser (default: the task's, see models.py)")
        p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="denoiser option over the default")
        p.add_argument("--patch", type=int, default=48, help="training patch size in pixels")
        p.add_argument("--val-images", type=int, default=4, help="validation images (the first N of the split)")
        p.add_argument("--val-crop", type=int, default=192, help="sr: central crop of the validation images")
        p.add_argument("--cosine", action="store_true", help="cosine learning-rate decay to lr/100 over --steps")
        p.add_argument("--milestones", type=int, nargs="*", default=[], help="steps at which the lr is multiplied by --gamma")
        p.add_argument("--gamma", type=float, default=0.1, help="lr factor at each milestone")
        p.add_argument(
            "--zero-last",
            action="store_true",
            help="start the last convolution at zero, i.e. the residual denoiser at the identity (the U-Net otherwise "
            "spends its first hundreds of steps undoing a large random output and settles at the identity)",
        )

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        from deq.core.cli import parse_options
        from deq.core.registry import create

        default_name, default_opts = TASK_MODEL[self.options["task"]][1]
        name = self.options["prior"] or default_name
        config = {**(default_opts if name == default_name else {}), **parse_options(self.options["opt"])}
        model = create("prior", name, **config)
        if self.options["zero_last"]:
            last = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
            nn.init.zeros_(last.weight)
            if last.bias is not None:
                nn.init.zeros_(last.bias)
        return model, "prior", name, config

    @cached_property
    def patches(self) -> PatchDataset:
        task, data_dir = self.options["task"], self.settings.data_dir
        images = data.mri_training_images(data_dir) if task == "mri" else data.sr_training_images(data_dir)
        return PatchDataset(images, self.options["patch"], length=DATASET_LENGTH, seed=self.settings.seed)

    @cached_property
    def val_images(self) -> list[Tensor]:
        o = self.options
        return list(validation_images(o["task"], o["val_images"], o["val_crop"], self.settings.data_dir))

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        sigma = self.options["sigma"]
        return {f"val_psnr_sigma{sigma:g}": denoising_psnr(model, self.val_images, sigma / 255, device)}

    def test(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        return {}  # test images are measured by `deq bench mismatch` on the inverse problems, not as denoising

    def data_note(self) -> str:
        o = self.options
        if o["task"] == "mri":
            split = data.MRI_SPLITS.describe()
            val = f"validation: first {o['val_images']} of brain_test_41-50"
        else:
            split = data.sr_training_note()
            val = f"validation: central {o['val_crop']}px of the first {o['val_images']} Set5 images"
        return f"{split}; {o['patch']}x{o['patch']} patches with flips/rotations, AWGN sigma {o['sigma']:g}/255; {val}"


class ARRecipe(Recipe):
    """``deq train mismatch ar``: the AR prior trained through the DEQ with a mismatched operator (module docstring)."""

    name = "mismatch ar"
    architecture = ("awgn",)
    defaults = {"steps": 300, "batch": 2, "lr": 1e-4, "ckpt_every": 10, "log_every": 5}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--task", choices=TASKS, required=True, help="mri: SD-RED at 10 %% sampling; sr: PnP-PGM at s = 2, 4")
        p.add_argument("--awgn", default=None, help="AWGN prior to start from (shipped name or file; default TASK-...-awgn-5)")
        p.add_argument("--tau", type=float, required=True, help="regularisation weight of the map (chosen on validation)")
        p.add_argument("--step-size", type=float, default=None, help="gamma of the map (default: the model's rule for tau)")
        p.add_argument("--max-iter", type=int, default=30, help="forward (Nesterov) iterations in training")
        p.add_argument("--tol", type=float, default=1e-3, help="forward and backward tolerance in training")
        p.add_argument("--backward-max-iter", type=int, default=20, help="backward (Anderson) iterations")
        p.add_argument("--eval-max-iter", type=int, default=100, help="forward iterations of the trained model in evaluation")
        p.add_argument("--ratio", type=int, default=data.MRI_TRAIN_RATIO, help="mri: sampling percent of A'")
        p.add_argument("--scales", type=int, nargs="+", default=list(data.SR_TRAIN_SCALES), help="sr: scales of A'")
        p.add_argument("--kernels", type=int, nargs="+", default=list(data.SR_KERNELS), help="sr: kernels_12.mat indices")
        p.add_argument("--noise", type=float, default=None, help="measurement noise std (default: mri 0, sr 0.03)")
        p.add_argument("--patch", type=int, default=48, help="sr: training crop size (divisible by the scales and by 4)")
        p.add_argument("--val-images", type=int, default=4, help="validation images (the first N of the split)")
        p.add_argument("--val-crop", type=int, default=96, help="sr: central crop of the validation images")
        p.add_argument(
            "--jac-reg",
            type=float,
            default=0.0,
            help="weight of ||J_T(x_bar)||_F^2 / n in the loss (Hutchinson, one probe; Bai et al. 2021): keeps the map "
            "contractive, so the fixed point the loss sees is one the solver reaches",
        )

    @property
    def noise(self) -> float:
        n = self.options["noise"]
        return (0.0 if self.options["task"] == "mri" else data.SR_NOISE) if n is None else n

    @cached_property
    def awgn_name(self) -> str:
        from deq.models.mismatch.weights import awgn_priors

        if self.options["awgn"]:
            return self.options["awgn"]
        found = awgn_priors(self.options["task"])
        if 5 / 255 not in found:
            raise DeqError(f"no shipped sigma = 5 AWGN prior for {self.options['task']}; pass --awgn FILE")
        return found[5 / 255]

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        from deq.core.registry import create
        from deq.core.weights import read_weights
        from deq.models.mismatch.weights import resolve

        o = self.options
        path, hint = resolve(self.awgn_name)
        awgn = read_weights(path, how_to_obtain=hint)
        if awgn["kind"] != "prior":
            raise DeqError(f"--awgn {self.awgn_name}: expected an AWGN prior weight file, found {awgn['kind']} '{awgn['name']}'")
        solver = MISMATCH_SOLVER.replace(
            max_iter=o["max_iter"],
            eval_max_iter=o["eval_max_iter"],
            tol=o["tol"],
            backward_tol=o["tol"],
            backward_max_iter=o["backward_max_iter"],
        ).to_dict()
        model_name = TASK_MODEL[o["task"]][0]
        config = {
            "denoiser": awgn["name"],
            "denoiser_options": awgn["config"],
            "gamma": o["step_size"],
            "tau": o["tau"],
            "solver": solver,
        }
        model = create("model", model_name, **config)
        model.denoiser.load_state_dict(awgn["state_dict"])
        self.awgn_provenance = awgn["provenance"]
        model.deq.config = model.solver_config.replace(warn_unconverged=False)  # training logs iterations instead
        return model, "model", model_name, config

    @cached_property
    def training_images(self) -> list[Tensor]:
        d = self.settings.data_dir
        return data.mri_training_images(d) if self.options["task"] == "mri" else data.sr_training_images(d)

    @cached_property
    def patches(self) -> PatchDataset:
        return PatchDataset(self.training_images, self.options["patch"], length=DATASET_LENGTH, seed=self.settings.seed)

    @cached_property
    def kernels(self) -> list[Tensor]:
        return data.sr_kernels(self.options["kernels"], self.settings.data_dir)

    @cached_property
    def mri_operator(self):
        return data.mri_operator(data.mri_mask(self.options["ratio"], self.settings.data_dir))

    def problem(self, ctx: StepContext) -> tuple[Tensor, Any]:
        """The ground truth of this step and its (mismatched) operator ``A'``."""
        if self.options["task"] == "mri":
            images = self.training_images
            x = _augment(torch.stack([images[i] for i in ctx.items(len(images))]), ctx.generator)
            return x, self.mri_operator
        x = torch.stack([self.patches[i] for i in ctx.items(len(self.patches))])
        g = ctx.generator
        scale = self.options["scales"][int(torch.randint(len(self.options["scales"]), (1,), generator=g))]
        kernel = self.kernels[int(torch.randint(len(self.kernels), (1,), generator=g))]
        return x, data.sr_operator(kernel, scale)

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        x, op = self.problem(ctx)
        x, op = x.to(ctx.device), op.to(ctx.device)
        y = op(x)
        if self.noise:
            y = y + self.noise * torch.randn(y.shape, generator=ctx.generator, dtype=y.dtype).to(ctx.device)
        x_bar, info = model(y, op)
        loss = 0.5 * (x_bar.float() - x).pow(2).flatten(1).sum(1).mean()  # eq. 8, mean over the batch
        objective, jac = loss, 0.0
        if self.options["jac_reg"] > 0:
            with solve_scope(model.map):
                jac_term = jacobian_frobenius(model.map, x_bar.detach(), y, op).mean()
            objective = loss + self.options["jac_reg"] * jac_term
            jac = float(jac_term.detach())
        objective.backward()
        back = getattr(info, "backward", None)
        return {
            "loss": float(loss.detach()),
            "jac": jac,
            "converged": float(info.converged.float().mean()),
            "psnr": float(psnr(x_bar.detach().clamp(0, 1), x).mean()),
            "iters": float(info.nstep.float().mean()),
            "back_iters": float(back.nstep.float().mean()) if back is not None else 0.0,
        }

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        o = self.options
        x = validation_images(o["task"], o["val_images"], o["val_crop"], self.settings.data_dir).to(device)
        g = torch.Generator().manual_seed(1234)
        if o["task"] == "mri":
            problems = [(f"val_psnr_{o['ratio']}", self.mri_operator)]
        else:
            problems = [
                (f"val_psnr_s{s}_k{k}", data.sr_operator(kern, s))
                for s in o["scales"]
                for k, kern in zip(o["kernels"], self.kernels)
            ]
        out, residuals = {}, []
        for key, op in problems:
            op = op.to(device)
            clean = op(x)
            y = clean + self.noise * torch.randn(clean.shape, generator=g).to(device)
            x_bar, info = model(y, op)
            out[key] = float(psnr(x_bar.clamp(0, 1), x).mean())
            residuals.append(float(info.residual.max()))
        out["val_psnr"] = sum(out.values()) / len(out)
        out["val_max_residual"] = max(residuals)  # a trained map that no longer converges shows here
        return out

    def data_note(self) -> str:
        o = self.options
        prov = self.awgn_provenance
        init = f"denoiser initialised from AWGN prior {self.awgn_name} ({prov.get('steps')} steps: {prov.get('command')})"
        if o["task"] == "mri":
            what = f"{data.MRI_SPLITS.describe()}; whole 256x256 images with flips/rotations; A' = {o['ratio']} % radial mask"
            val = f"validation: first {o['val_images']} of brain_test_41-50 at {o['ratio']} %"
        else:
            what = (
                f"{data.sr_training_note()}; {o['patch']}x{o['patch']} crops; A' = kernels {o['kernels']} of kernels_12.mat "
                f"at s = {o['scales']} (one per step), noise {self.noise:g}"
            )
            val = f"validation: central {o['val_crop']}px of the first {o['val_images']} Set5 images at the training operators"
        return f"{what}; {val}; {init}"


RECIPES: dict[str, type[Recipe]] = {"awgn": AWGNRecipe, "ar": ARRecipe}


def main(argv: list[str] | None = None) -> int:
    """``deq train mismatch awgn|ar --task mri|sr [flags]``: the AWGN and the DEQ-trained AR priors."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("Stages: awgn, ar. `deq train mismatch awgn --help` and `deq train mismatch ar --help` list the flags.")
        return 0
    stage, rest = argv[0], argv[1:]
    if stage not in RECIPES:
        raise DeqError(f"deq train mismatch: the first argument is the stage, one of {sorted(RECIPES)}; got {stage!r}")
    recipe = RECIPES[stage]
    return main_for(recipe, rest, f"deq train mismatch {stage}", (recipe.__doc__ or "").split("\n")[0])


if __name__ == "__main__":
    sys.exit(main())
