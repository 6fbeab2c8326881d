"""Training recipe for DE-GAP and DE-RNN (Zhao et al. sec. 4: MSE loss, Adam, implicit backward).

    deq train sci --out runs/degap                                    # or: python -m deq.models.sci.train ...
    deq train sci --model de-rnn --rnn-options '{"width": 16}' --out runs/dernn
    torchrun --nproc_per_node 4 -m deq.models.sci.train --out ...       # DDP (gloo on CPU, nccl on GPU)

Data: synthetic moving-crop videos of ``natural/DnCNN_Train400`` (:mod:`deq.models.sci.synthetic`),
the last ``--val-images`` images held out for validation, or with ``--videos DIR`` crops of real videos
(one sub-folder of frames per video, e.g. DAVIS; :mod:`deq.models.sci.clips`), the last ``--val-videos``
held out; every clip gets its own random binary mask, so the network is not tied to one mask. Two stages
within ``--steps``:

1. the first ``--pretrain-steps``: the iteration map alone, ``min ||f(x_a; y) - x||^2`` from points
   ``x_a = a x^(0) + (1 - a) x + s n`` between the initial estimate and the truth (``a ~ U(0, 1)``,
   ``s ~ U(0, 0.1)``; one application of ``f``, a cheap warm start);
2. the rest: the equilibrium ``x*`` of ``f`` (Anderson) against the ground truth,
   ``min ||x*(y) - x||^2`` (one solve per clip, or one for the batch with ``--solve-batch``), gradients by the
   implicit function theorem (``--backward ift``, eq. 18-26)
   or the phantom gradient (``jfb``); ``--jac-reg c`` adds ``c ||J_f(x*)||_F^2 / n`` (Hutchinson estimate, one
   probe; Bai et al. 2021) to keep the map contractive, so the forward solve converges as training goes on.

``--accelerate`` trains the fixed point of the accelerated GAP (8') instead (:class:`~deq.models.sci.degap.GAPMap`,
a fixed point fits the data exactly): stage 2 only, without the Jacobian term (its map has an identity block, so the
term does not measure contraction).

The paper's GPU recipe is DAVIS2017 256x256x8 crops, 30 epochs, lr 1e-3 decayed by 10 % every 10 epochs
(``--videos DAVIS/JPEGImages/480p --size 256 --lr-decay 0.9 --decay-every <10 epochs of steps>``). The run
itself is deq-core's harness (:mod:`deq.core.training`): DDP, atomic checkpoints and ``--resume``, items drawn
deterministically from ``(seed, step, rank)``, ``--minutes``, bf16 autocast on CUDA (``--amp``), ``--init W.pt``
(a weight file of the same network, its provenance kept) and ``OUT/weights.pt`` with the provenance. The solves
of training run with warnings off (``warn_unconverged``) and log their iteration counts instead; the weight
file stores the model's settings with warnings on.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from deq.core.data import find_data
from deq.core.jacobian import jacobian_frobenius
from deq.core.metrics import psnr
from deq.core.operator import LinearOperator
from deq.core.solve_scope import solve_scope
from deq.core.training import Recipe, StepContext, main_for
from deq.models.sci.clips import VideoClipDataset, load_video_folders
from deq.models.sci.degap import SCI_SOLVER
from deq.models.sci.synthetic import SyntheticVideoDataset, load_image_folder
from deq.models.sci.weights import DEFAULT_DENOISER, DEFAULT_DENOISER_OPTIONS, DEFAULT_RADIUS, MODELS

TRAIN_IMAGES = "natural/DnCNN_Train400"
DATASET_LENGTH = 2**31 - 1


def perturbed_start(x: Tensor, y: Tensor, op: LinearOperator) -> Tensor:
    """Stage-1 inputs: ``a x^(0) + (1 - a) x + s n`` with ``a ~ U(0, 1)``, ``s ~ U(0, 0.1)`` per clip, i.e.
    points between the initial estimate ``x^(0)`` (:func:`~deq.models.sci.gap.initial_estimate`) and the ground
    truth, plus noise, so that one application of the map learns to move any iterate of the solve towards ``x``."""
    from deq.models.sci.gap import initial_estimate

    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    a = torch.rand(shape, device=x.device)
    s = 0.1 * torch.rand(shape, device=x.device)
    return a * initial_estimate(op, y) + (1 - a) * x + s * torch.randn_like(x)


@torch.no_grad()
def validate(model: nn.Module, ds: Dataset, device: torch.device) -> dict[str, float]:
    """Mean PSNR (dB) of x^(0) and of the equilibrium on the held-out clips, and mean solver iterations."""
    from deq.models.sci.gap import initial_estimate
    from deq.operators.sci import CACTI

    p0, p1, its = [], [], []
    for i in range(len(ds)):
        x, m = ds[i]
        x = x[None].to(device)
        op = CACTI(m.to(device))
        y = op(x)
        z, info = model(y, op)
        p0.append(float(psnr(initial_estimate(op, y).clamp(0, 1), x)))
        p1.append(float(psnr(z.clamp(0, 1), x)))
        its.append(float(info.nstep.float().mean()))
    n = len(ds)
    return {"val_psnr_x0": sum(p0) / n, "val_psnr": sum(p1) / n, "val_solver_iters": sum(its) / n}


def _load_denoiser(model: nn.Module, path: str) -> None:
    """Start DE-GAP's image denoiser from ``path`` (a deq prior weight file or a published checkpoint); a file of
    another network than ``--denoiser``/``--denoiser-options`` is an error naming both."""
    from deq.core.errors import DeqError
    from deq.priors.published import load_denoiser

    source = load_denoiser(path)
    target = model.map.denoiser
    target = getattr(target, "denoiser", target)  # inside a FrameWindow
    try:
        target.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise DeqError(f"--denoiser-weights {path} does not fit the --denoiser of this run: {str(exc).splitlines()[0]}") from exc


class SCIRecipe(Recipe):
    """DE-GAP / DE-RNN training (see the module docstring)."""

    name = "sci"
    architecture = ("model", "denoiser", "denoiser_options", "radius", "denoiser_sigma", "rnn_options")
    defaults = {"steps": 500, "batch": 4, "lr": 1e-3, "ckpt_every": 25}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", choices=MODELS, default="de-gap", help="the equilibrium model to train")
        p.add_argument("--denoiser", default=DEFAULT_DENOISER, help="DE-GAP: registered deq-priors image denoiser")
        p.add_argument(
            "--denoiser-options", default=json.dumps(DEFAULT_DENOISER_OPTIONS), help="DE-GAP: the denoiser's options (JSON)"
        )
        p.add_argument("--radius", type=int, default=DEFAULT_RADIUS, help="DE-GAP: temporal half-window of the denoiser")
        p.add_argument(
            "--denoiser-sigma",
            type=float,
            default=None,
            help="DE-GAP: fixed noise level (x/255) for a noise-conditioned denoiser",
        )
        p.add_argument(
            "--denoiser-weights",
            default=None,
            help="DE-GAP: start the denoiser from a deq prior weight file or a published FFDNet/DnCNN checkpoint "
            "(DE-GAP-FFDnet: --denoiser ffdnet --radius 0 --denoiser-sigma S --denoiser-weights net_gray.pth); the "
            "run's weights are then derived from that file: keep them where --out puts them, never ship them",
        )
        p.add_argument("--rnn-options", default="{}", help="DE-RNN: BiRNN options (JSON: width, coeff, skip)")
        p.add_argument("--videos", default="", help="train on crops of real videos in this folder (one sub-folder per video)")
        p.add_argument("--val-videos", type=int, default=2, help="with --videos: the last N videos are held out")
        p.add_argument("--val-images", type=int, default=40, help="synthetic clips: the last N training images are held out")
        p.add_argument("--val-clips", type=int, default=8, help="held-out clips validated at the end")
        p.add_argument("--size", type=int, default=64, help="clip height and width in pixels")
        p.add_argument(
            "--frames",
            default="8",
            help="frames per snapshot B, or a comma list (e.g. 8,10,14): steps cycle through them so one map serves "
            "several compression ratios",
        )
        p.add_argument(
            "--masks",
            default="binary",
            help="coding masks drawn per clip, comma list of: binary (i.i.d. 0/1), shifting (a graded pattern moved one "
            "pixel per frame, as a physical mask)",
        )
        p.add_argument("--pretrain-steps", type=int, default=300, help="stage 1: the first N steps train the map alone")
        p.add_argument("--lr-decay", type=float, default=0.9, help="learning-rate factor every --decay-every steps")
        p.add_argument("--decay-every", type=int, default=100, help="steps between learning-rate decays")
        p.add_argument("--backward", choices=("ift", "jfb"), default="ift", help="gradient of the equilibrium stage")
        p.add_argument("--jac-reg", type=float, default=0.0, help="weight of ||J_f(x*)||_F^2/n in the stage-2 loss")
        p.add_argument(
            "--solve-batch",
            action="store_true",
            help="stage 2: one solve for the whole batch (each clip stops on its own: converged, diverged or at "
            "--max-iter; each keeps its best iterate), instead of one solve per clip: fewer, larger kernels, for GPUs",
        )
        p.add_argument(
            "--accelerate",
            action="store_true",
            help="the equilibrium of the accelerated GAP (8'), whose fixed points fit the data (stage 2 only: "
            "--pretrain-steps 0; no --jac-reg)",
        )
        p.add_argument(
            "--warm-start",
            type=int,
            default=0,
            help="start every solve (training and validation) from N GAP-TV iterations instead of x^(0); stored in the "
            "weight file as the model's start",
        )
        p.add_argument("--max-iter", type=int, default=30, help="solver iterations (forward and backward) in training")
        p.add_argument("--tol", type=float, default=1e-3, help="solver tolerance (forward and backward) in training")

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        from deq.core.registry import create

        o = self.options
        solver = SCI_SOLVER.replace(
            backward=o["backward"], tol=o["tol"], max_iter=o["max_iter"], backward_tol=o["tol"], backward_max_iter=o["max_iter"]
        ).to_dict()
        if o["accelerate"] and (o["pretrain_steps"] or o["jac_reg"]):
            raise ValueError(
                "--accelerate trains the equilibrium stage only and has no Jacobian term: give --pretrain-steps 0 and "
                f"--jac-reg 0 (got --pretrain-steps {o['pretrain_steps']}, --jac-reg {o['jac_reg']})"
            )
        if o["model"] == "de-rnn":
            config = {**json.loads(o["rnn_options"]), "solver": solver}
        else:
            config = {"denoiser": o["denoiser"], "denoiser_options": json.loads(o["denoiser_options"]), "radius": o["radius"]}
            if o["denoiser_sigma"] is not None:
                config["denoiser_sigma"] = o["denoiser_sigma"] / 255
            config["solver"] = solver
        if o["accelerate"]:
            config["accelerate"] = True
        if o["warm_start"]:
            config["warm_start"] = o["warm_start"]
        model = create("model", o["model"], **config)
        if o["denoiser_weights"]:
            _load_denoiser(model, o["denoiser_weights"])
        model.deq.config = model.solver_config.replace(warn_unconverged=False)  # training logs iterations instead
        return model, "model", o["model"], config

    def optimizer(self, model: nn.Module):
        opt = torch.optim.Adam(model.parameters(), lr=self.settings.lr)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=self.options["decay_every"], gamma=self.options["lr_decay"])

    @cached_property
    def frames(self) -> list[int]:
        """The compression ratios ``B`` of ``--frames``; step ``s`` trains on ``frames[s % len(frames)]``."""
        values = [int(v) for v in str(self.options["frames"]).split(",") if v.strip()]
        if not values or min(values) < 2:
            raise ValueError(f"--frames must list compression ratios B >= 2, got {self.options['frames']!r}")
        return values

    @cached_property
    def datasets(self) -> tuple[dict[int, Dataset], dict[int, Dataset], str]:
        """Training and validation clips per compression ratio ``B`` and a description for the provenance: real
        videos (``--videos``, the last ``--val-videos`` held out) or synthetic moving crops of
        ``natural/DnCNN_Train400`` (the last ``--val-images`` held out)."""
        o = self.options
        masks = tuple(k.strip() for k in o["masks"].split(",") if k.strip())
        if o["videos"]:
            items, cls, source, kind = load_video_folders(o["videos"]), VideoClipDataset, o["videos"], "crops"
            held, what = o["val_videos"], "videos"
        else:
            items, cls = load_image_folder(find_data(TRAIN_IMAGES, self.settings.data_dir)), SyntheticVideoDataset
            held, what, source, kind = o["val_images"], "images", TRAIN_IMAGES, "synthetic moving crops"
        if held >= len(items):
            raise ValueError(f"--val-{what} {held} leaves no training {what} out of {len(items)} in {source}")
        cut = len(items) - held
        note = (
            f"{source} (first {cut} {what}; last {held} held out for validation), "
            f"B = {', '.join(map(str, self.frames))}-frame {o['size']}x{o['size']} {kind}, "
            f"random {' or '.join(masks)} masks per clip"
        )
        train = {
            b: cls(items[:cut], length=DATASET_LENGTH, seed=self.settings.seed, size=o["size"], frames=b, masks=masks)
            for b in self.frames
        }
        val = {
            b: cls(items[cut:], length=o["val_clips"], seed=self.settings.seed + 10_000, size=o["size"], frames=b, masks=masks)
            for b in self.frames
        }
        return train, val, note

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        from deq.operators.sci import CACTI

        ds = self.datasets[0][self.frames[ctx.step % len(self.frames)]]
        items = [ds[i] for i in ctx.items(len(ds))]
        x = torch.stack([v for v, _ in items]).to(ctx.device)
        m = torch.stack([mk for _, mk in items]).to(ctx.device)
        op = CACTI(m)
        y = op(x)
        if ctx.step < self.options["pretrain_steps"]:  # stage 1: the map near the ground truth
            loss = nn.functional.mse_loss(model.map(perturbed_start(x, y, op), y, op).float(), x)
            loss.backward()
            return {"loss": float(loss.detach()), "iters": 1.0}
        if self.options["solve_batch"]:  # stage 2: the equilibrium, one solve for the batch or one per clip
            parts = [(x, y, op, 1.0)]
        else:
            b = x.shape[0]
            parts = [(x[i : i + 1], y[i : i + 1], CACTI(m[i]), 1 / b) for i in range(b)]
        terms = [self._equilibrium_terms(model, *part) for part in parts]
        return {key: sum(t[j] for t in terms) for j, key in enumerate(("loss", "iters", "jac"))}

    def _equilibrium_terms(
        self, model: nn.Module, x: Tensor, y: Tensor, op: LinearOperator, weight: float
    ) -> tuple[float, float, float]:
        """Back-propagate ``weight`` times the stage-2 objective of clips ``x [n, 1, T, H, W]`` with snapshots
        ``y [n, 1, H, W]`` and ``op`` (masks ``[T, H, W]`` or ``[n, T, H, W]``): the MSE of the equilibrium plus
        ``--jac-reg`` times the Hutchinson ``||J_f(x*)||_F^2 / n``. Returns the loss, the mean solver iterations and
        the Jacobian term, each times ``weight``."""
        out, info = model(y, op)
        loss = nn.functional.mse_loss(out.float(), x) * weight
        objective, jac = loss, 0.0
        if self.options["jac_reg"] > 0:
            with solve_scope(model.map):
                jac_term = jacobian_frobenius(model.map, out, y, op).mean() * weight
            objective = objective + self.options["jac_reg"] * jac_term
            jac = float(jac_term.detach())
        objective.backward()
        return float(loss.detach()), float(info.nstep.float().mean()) * weight, jac

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """The held-out metrics of each ``B`` (keys suffixed ``_B{b}`` when there are several) and their means."""
        per = {b: validate(model, ds, device) for b, ds in self.datasets[1].items()}
        if len(per) == 1:
            return next(iter(per.values()))
        out = {f"{k}_B{b}": v for b, m in per.items() for k, v in m.items()}
        for key in next(iter(per.values())):
            out[key] = sum(m[key] for m in per.values()) / len(per)
        return out

    def data_note(self) -> str:
        return self.datasets[2]

    def weight_files(self) -> list[str]:
        return [self.options["denoiser_weights"]] if self.options["denoiser_weights"] else []


def main(argv: list[str] | None = None) -> int:
    """``deq train sci [flags]``; see ``--help``."""
    return main_for(SCIRecipe, argv, "deq train sci", __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
