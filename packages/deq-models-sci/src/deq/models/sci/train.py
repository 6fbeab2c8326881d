"""Training recipe for DE-GAP and DE-RNN (Zhao et al. sec. 4: MSE loss, Adam, implicit backward).

    python -m deq.models.sci.train --weights-out degap.pt            # or: deq train-sci ...
    python -m deq.models.sci.train --model de-rnn --rnn-options '{"width": 16}' --weights-out dernn.pt
    torchrun --nproc_per_node 4 -m deq.models.sci.train ...          # DDP (gloo on CPU, nccl on GPU)

Data: synthetic moving-crop videos of ``natural/DnCNN_Train400`` (:mod:`deq.models.sci.synthetic`),
the last ``--val-images`` images held out for validation, or with ``--videos DIR`` crops of real videos
(one sub-folder of frames per video, e.g. DAVIS; :mod:`deq.models.sci.clips`), the last ``--val-videos``
held out; every clip gets its own random binary mask, so the network is not tied to one mask. Two stages:

1. ``--pretrain-steps``: the iteration map alone, ``min ||f(x_a; y) - x||^2`` from points
   ``x_a = a x^(0) + (1 - a) x + s n`` between the initial estimate and the truth (``a ~ U(0, 1)``,
   ``s ~ U(0, 0.1)``; one application of ``f``, a cheap warm start);
2. ``--steps``: the equilibrium ``x*`` of ``f`` (Anderson) against the ground truth,
   ``min ||x*(y) - x||^2``, gradients by the implicit function theorem (``--backward ift``, eq. 18-26)
   or the phantom gradient (``jfb``); ``--jac-reg c`` adds ``c ||J_f(x*)||_F^2 / n`` (Hutchinson estimate, one
   probe; Bai et al. 2021) to keep the map contractive, so the forward solve converges as training goes on.

The paper's GPU recipe is DAVIS2017 256x256x8 crops, 30 epochs, lr 1e-3 decayed by 10 % every 10 epochs
(``--videos DAVIS/JPEGImages/480p --size 256 --lr-decay 0.9 --decay-every <10 epochs of steps>``). Checkpoints are atomic
(``deq.core.checkpoint.save_atomic``) and ``--resume`` continues from the last one; items are drawn
deterministically from ``(seed, step, rank)``, so a resumed run sees the same data as an uninterrupted
one. CUDA runs use bf16 autocast (``--amp``). ``--init W.pt`` starts from the map of a DE-GAP weight file
(same denoiser, options and radius) to continue a training in a new phase; the new file's provenance keeps
the provenance of ``W.pt`` under ``init``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import Dataset

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.data import find_data
from deq.core.jacobian import jacobian_frobenius
from deq.core.metrics import psnr
from deq.core.operator import LinearOperator
from deq.models.sci.clips import VideoClipDataset, load_video_folders
from deq.models.sci.degap import EquilibriumSCI, SolverConfig
from deq.models.sci.synthetic import SyntheticVideoDataset, load_image_folder
from deq.models.sci.weights import (
    DEFAULT_DENOISER,
    DEFAULT_DENOISER_OPTIONS,
    DEFAULT_RADIUS,
    build_from_config,
    model_config,
    model_of,
    save_weights,
)

TRAIN_IMAGES = "natural/DnCNN_Train400"


@dataclass
class TrainConfig:
    """Every option of the recipe (the command-line flags, one to one)."""

    weights_out: str = "degap.pt"
    checkpoint: str = "degap-train.ckpt"
    resume: bool = False
    init: str = ""
    data_dir: str | None = None
    videos: str = ""
    val_videos: int = 2
    model: str = "de-gap"
    rnn_options: str = "{}"
    denoiser: str = DEFAULT_DENOISER
    denoiser_options: str = json.dumps(DEFAULT_DENOISER_OPTIONS)
    radius: int = DEFAULT_RADIUS
    size: int = 64
    frames: int = 8
    batch: int = 4
    pretrain_steps: int = 300
    steps: int = 200
    minutes: float = 0.0
    lr: float = 1e-3
    lr_decay: float = 0.9
    decay_every: int = 100
    backward: str = "ift"
    jac_reg: float = 0.0
    max_iter: int = 30
    tol: float = 1e-3
    val_images: int = 40
    val_clips: int = 8
    seed: int = 0
    threads: int = 1
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    amp: bool = False
    log_every: int = 10
    ckpt_every: int = 25


def parse_args(argv: list[str]) -> TrainConfig:
    parser = argparse.ArgumentParser(prog="deq train-sci", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return TrainConfig(**{k: v for k, v in vars(parser.parse_args(argv)).items() if k != "func"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The recipe's flags (shared by ``python -m deq.models.sci.train`` and ``deq train-sci``)."""
    for f in TrainConfig.__dataclass_fields__.values():
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", default=f.default)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=f.default)


def _batch(ds: Dataset, step: int, batch: int, rank: int, world: int, device: torch.device) -> tuple[Tensor, Tensor]:
    first = (step * world + rank) * batch
    items = [ds[(first + i) % len(ds)] for i in range(batch)]
    return torch.stack([v for v, _ in items]).to(device), torch.stack([m for _, m in items]).to(device)


def perturbed_start(x: Tensor, y: Tensor, op: LinearOperator) -> Tensor:
    """Stage-1 inputs: ``a x^(0) + (1 - a) x + s n`` with ``a ~ U(0, 1)``, ``s ~ U(0, 0.1)`` per clip, i.e.
    points between the initial estimate ``x^(0)`` (:func:`~deq.models.sci.gap.initial_estimate`) and the ground truth, plus noise,
    so that one application of the map learns to move any iterate of the solve towards ``x``."""
    from deq.models.sci.gap import initial_estimate

    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    a = torch.rand(shape, device=x.device)
    s = 0.1 * torch.rand(shape, device=x.device)
    return a * initial_estimate(op, y) + (1 - a) * x + s * torch.randn_like(x)


def _datasets(cfg: TrainConfig, length: int) -> tuple[Dataset, Dataset, str]:
    """Training and validation clips and a description for the provenance: real videos (``--videos``, the last
    ``--val-videos`` held out) or synthetic moving crops of ``natural/DnCNN_Train400`` (last ``--val-images``
    held out)."""
    if cfg.videos:
        items, cls, source, kind = load_video_folders(cfg.videos), VideoClipDataset, cfg.videos, "crops"
        held, what = cfg.val_videos, "videos"
    else:
        items, cls = load_image_folder(find_data(TRAIN_IMAGES, cfg.data_dir)), SyntheticVideoDataset
        held, what, source, kind = cfg.val_images, "images", TRAIN_IMAGES, "synthetic moving crops"
    if held >= len(items):
        raise ValueError(f"--val-{what} {held} leaves no training {what} out of {len(items)} in {source}")
    cut, shape = len(items) - held, {"size": cfg.size, "frames": cfg.frames}
    note = (
        f"{source} (first {cut} {what}; last {held} held out for validation), "
        f"{cfg.frames}-frame {cfg.size}x{cfg.size} {kind}, random binary masks per clip"
    )
    train_ds = cls(items[:cut], length=length, seed=cfg.seed, **shape)
    return train_ds, cls(items[cut:], length=cfg.val_clips, seed=cfg.seed + 10_000, **shape), note


def _network(config: dict) -> dict:
    """The part of a weight ``config`` that fixes the network (everything but the solver settings)."""
    return {**{k: v for k, v in config.items() if k != "solver"}, "model": model_of(config)}


def _load_init(model: EquilibriumSCI, cfg: TrainConfig, config: dict) -> dict:
    """Load ``--init``'s map into ``model`` (built from ``config``); returns that file's provenance. A file
    made for another network (model, denoiser, options or radius) is an error naming both."""
    blob = load_checked(cfg.init, how_to_obtain="Pass a weight file written by this recipe (--weights-out).")
    theirs, ours = _network(blob["config"]), _network(config)
    if theirs != ours:
        raise ValueError(f"--init {cfg.init} holds a map for {theirs}, but this run builds {ours}")
    model.map.load_state_dict(blob["state_dict"])
    return blob.get("provenance", {})


def _build(cfg: TrainConfig) -> tuple[EquilibriumSCI, dict]:
    """The model of ``cfg`` and the ``config`` entry its weight file gets."""
    solver = SolverConfig(
        backward=cfg.backward, tol=cfg.tol, max_iter=cfg.max_iter, backward_tol=cfg.tol, backward_max_iter=cfg.max_iter
    )
    den_opts, rnn_opts = json.loads(cfg.denoiser_options), json.loads(cfg.rnn_options)
    config = model_config(cfg.model, cfg.denoiser, den_opts, cfg.radius, rnn_opts, solver)
    return build_from_config(config), config


def _all_reduce_grads(model: torch.nn.Module, world: int) -> None:
    if world > 1:
        for p in model.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


@torch.no_grad()
def validate(model: EquilibriumSCI, ds: Dataset, device: torch.device) -> dict[str, float]:
    """Mean PSNR (dB) of x^(0) and of the equilibrium on the held-out clips, and mean solver iterations."""
    from deq.models.sci.gap import initial_estimate
    from deq.operators.sci import CACTI

    model.eval()
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
    model.train()
    n = len(ds)
    return {"val_psnr_x0": sum(p0) / n, "val_psnr": sum(p1) / n, "val_solver_iters": sum(its) / n}


def train(cfg: TrainConfig, argv: list[str] | None = None) -> dict[str, float]:
    """Run the recipe; returns the final validation metrics (rank 0 writes the weights)."""
    from deq.operators.sci import CACTI

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(cfg.device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if cfg.backward not in ("ift", "jfb"):
        raise ValueError(f"--backward must be ift or jfb, got {cfg.backward!r}")
    total = (cfg.pretrain_steps + cfg.steps) * cfg.batch * world
    train_ds, val_ds, data_note = _datasets(cfg, max(total, 1))

    model, config = _build(cfg)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.map.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.decay_every, gamma=cfg.lr_decay)
    step, elapsed_before = 0, 0.0
    init_provenance = _load_init(model, cfg, config) if cfg.init else None
    if cfg.resume and Path(cfg.checkpoint).is_file():
        ck = load_checked(cfg.checkpoint, map_location=device)
        model.map.load_state_dict(ck["map"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        step, elapsed_before = int(ck["step"]), float(ck.get("elapsed", 0.0))
        if rank == 0:
            print(f"resumed from {cfg.checkpoint} at step {step}", flush=True)

    def save_ckpt() -> None:
        if rank == 0:
            save_atomic(
                {
                    "map": model.map.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "step": step,
                    "elapsed": elapsed,
                    "config": asdict(cfg),
                },
                cfg.checkpoint,
            )

    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if (cfg.amp and device.type == "cuda")
        else torch.autocast("cpu", enabled=False)
    )
    t0 = time.perf_counter()
    elapsed = elapsed_before
    last_loss = float("nan")
    n_total = cfg.pretrain_steps + cfg.steps
    while step < n_total:
        elapsed = elapsed_before + time.perf_counter() - t0
        if cfg.minutes > 0 and elapsed > 60 * cfg.minutes:
            if rank == 0:
                print(f"time budget of {cfg.minutes} min reached at step {step}", flush=True)
            break
        x, m = _batch(train_ds, step, cfg.batch, rank, world, device)
        op = CACTI(m)
        y = op(x)
        opt.zero_grad(set_to_none=True)
        if step < cfg.pretrain_steps:  # stage 1: the map near the ground truth
            with amp:
                loss = torch.nn.functional.mse_loss(model.map(perturbed_start(x, y, op), y, op).float(), x)
            loss.backward()
            iters, jac = 1.0, torch.zeros(())
        else:  # stage 2: the equilibrium, implicit gradient; one solve per clip (per-sample stopping)
            loss, iters, jac = torch.zeros((), device=device), 0.0, torch.zeros((), device=device)
            for i in range(x.shape[0]):
                op_i = CACTI(m[i])
                with amp:
                    out, info = model(y[i : i + 1], op_i)
                    loss_i = torch.nn.functional.mse_loss(out.float(), x[i : i + 1]) / x.shape[0]
                    objective = loss_i
                    if cfg.jac_reg > 0:
                        jac_i = jacobian_frobenius(model.map, out, y[i : i + 1], op_i).mean() / x.shape[0]
                        jac = jac + jac_i.detach()
                        objective = objective + cfg.jac_reg * jac_i
                objective.backward()
                loss, iters = loss + loss_i.detach(), iters + float(info.nstep.float().mean()) / x.shape[0]
        _all_reduce_grads(model.map, world)
        opt.step()
        sched.step()
        step += 1
        last_loss = loss.item()
        if rank == 0 and (step % cfg.log_every == 0 or step == n_total):
            stage = "pretrain" if step <= cfg.pretrain_steps else "deq"
            print(
                f"step {step}/{n_total} [{stage}] loss {last_loss:.3e} psnr {-10 * torch.log10(loss).item():.2f} dB "
                f"iters {iters:.1f} |J|_F^2/n {float(jac):.3f} lr {sched.get_last_lr()[0]:.2e} t {elapsed:.0f}s",
                flush=True,
            )
        if step % cfg.ckpt_every == 0:
            save_ckpt()
    elapsed = elapsed_before + time.perf_counter() - t0
    save_ckpt()
    metrics: dict[str, float] = {}
    if rank == 0:
        metrics = validate(model, val_ds, device)
        provenance = {
            "script": "python -m deq.models.sci.train",
            "argv": list(argv if argv is not None else sys.argv[1:]),
            "data": data_note,
            "steps_done": step,
            "pretrain_steps": min(step, cfg.pretrain_steps),
            "deq_steps": max(0, step - cfg.pretrain_steps),
            "batch": cfg.batch * world,
            "processes": world,
            "seed": cfg.seed,
            "backward": cfg.backward,
            "wall_seconds": round(elapsed, 1),
            "final_train_loss": last_loss,
            "device": str(device),
            "torch": str(torch.__version__),
            **metrics,
        }
        if init_provenance is not None:
            provenance["init"] = {"weights": cfg.init, "provenance": init_provenance}
        save_weights(model, config, provenance, cfg.weights_out)
        print(json.dumps({"weights": cfg.weights_out, **metrics}), flush=True)
    if world > 1:
        dist.destroy_process_group()
    return metrics


def export_checkpoint(checkpoint: str, weights_out: str) -> None:
    """Write the weights of a training checkpoint (e.g. the end of the pretraining stage) as a weight file."""
    ck = load_checked(checkpoint)
    cfg = TrainConfig(**ck["config"])
    model, config = _build(cfg)
    model.map.load_state_dict(ck["map"])
    provenance = {
        "script": "python -m deq.models.sci.train --export-from",
        "checkpoint": str(checkpoint),
        "steps_done": int(ck["step"]),
        "pretrain_steps": min(int(ck["step"]), cfg.pretrain_steps),
        "deq_steps": max(0, int(ck["step"]) - cfg.pretrain_steps),
        "seed": cfg.seed,
        "training_config": ck["config"],
    }
    save_weights(model, config, provenance, weights_out)


def main(argv: list[str] | None = None) -> int:
    """``python -m deq.models.sci.train [flags]`` (``--export-from CKPT --weights-out W`` only exports)."""
    argv = sys.argv[1:] if argv is None else argv
    if "--export-from" in argv:
        i = argv.index("--export-from")
        rest = argv[:i] + argv[i + 2 :]
        export_checkpoint(argv[i + 1], parse_args(rest).weights_out)
        return 0
    train(parse_args(argv), argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
