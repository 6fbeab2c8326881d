"""Training recipe for AWGN denoisers: ``python -m deq.priors.train`` or ``deq train``.

Trains any registered prior ``D(x, sigma)`` to minimise ``1/2 ||D(x + sigma n, sigma) - x||^2``
(Zhang et al. 2017, eq. 1, on the denoised output) over random patches with flips/rotations, with
``sigma`` fixed or uniform in a range (blind / noise-level conditioned training). Adam with a step
schedule, tqdm progress, validation PSNR on a held-out folder (fixed noise), atomic resumable
checkpoints, a seed, mixed precision on CUDA, and DDP when started by ``torchrun`` (gloo on CPU,
nccl on CUDA). Example (the shipped ``ffdnet-gray`` weights, see docs/priors.md)::

    python -m deq.priors.train --prior ffdnet --opt depth=12 --opt width=48 --sigma-range 0 50 \
        --out runs/ffdnet --minutes 55 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.data import find_data
from deq.core.metrics import psnr
from deq.priors.data import PatchDataset, load_images

DEFAULT_TRAIN = "natural/DnCNN_Train400"
DEFAULT_VAL = "natural/Set12"


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["depth=12", "batch_norm=false"]`` -> ``{"depth": 12, "batch_norm": False}`` (JSON values, else str)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--opt expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def build_prior(name: str, options: dict[str, Any]) -> nn.Module:
    """The prior ``name`` of this package with ``options`` (an unknown option is a ``TypeError``)."""
    from deq.priors.plugin import deq_priors

    catalog = deq_priors()
    if name not in catalog:
        raise ValueError(f"unknown prior {name!r}; deq-priors provides {sorted(catalog)}")
    return catalog[name](**options)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="python -m deq.priors.train", description=__doc__.splitlines()[0])
    p.add_argument("--prior", default="ffdnet", help="registered prior name (default: ffdnet)")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="prior option (repeatable)")
    p.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA or ../shared/data)")
    p.add_argument(
        "--train", default=DEFAULT_TRAIN, help=f"training image folder, relative to the data root (default {DEFAULT_TRAIN})"
    )
    p.add_argument("--val", default=DEFAULT_VAL, help=f"validation image folder (default {DEFAULT_VAL})")
    p.add_argument("--val-limit", type=int, default=None, help="use only the first N validation images")
    p.add_argument("--channels", type=int, default=1, choices=(1, 3))
    p.add_argument("--sigma", type=float, default=None, help="fixed noise level (x/255)")
    p.add_argument(
        "--sigma-range",
        type=float,
        nargs=2,
        default=(0.0, 50.0),
        metavar=("LO", "HI"),
        help="uniform noise level range (x/255) when --sigma is not given",
    )
    p.add_argument("--val-sigma", type=float, default=25.0, help="validation noise level (x/255)")
    p.add_argument("--patch", type=int, default=50)
    p.add_argument("--batch", type=int, default=64, help="global batch size (split over DDP ranks)")
    p.add_argument("--patches-per-epoch", type=int, default=6400)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--milestones", type=int, nargs="*", default=(), help="epochs at which the lr is multiplied by --gamma")
    p.add_argument("--gamma", type=float, default=0.1)
    p.add_argument("--cosine", action="store_true", help="cosine lr decay over --epochs instead of milestones")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="run folder: checkpoint.pt and log.jsonl are written here")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if OUT/checkpoint.pt exists")
    p.add_argument(
        "--init",
        default=None,
        help="initialize the model weights from another run's checkpoint.pt "
        "(fresh optimizer and schedule; e.g. a low-lr fine-tuning phase)",
    )
    p.add_argument(
        "--minutes", type=float, default=None, help="wall budget: stop (with a checkpoint) after the epoch that exceeds it"
    )
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads on CPU")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    p.add_argument("--no-progress", action="store_true")
    return p


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


@torch.no_grad()
def validate(model: nn.Module, images: list[Tensor], sigma: float, device: torch.device, seed: int = 1234) -> float:
    """Mean PSNR (dB) of ``model`` on ``images`` with AWGN of level ``sigma`` (fixed noise per seed)."""
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    scores = []
    for im in images:
        noisy = im + sigma * torch.randn(im.shape, generator=g)
        out = model(noisy[None].to(device), sigma)
        scores.append(float(psnr(out.clamp(0, 1).float().cpu(), im[None])[0]))
    model.train(was_training)
    return sum(scores) / len(scores)


def _agreed(flag: bool, world: int, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every rank (ranks' clocks differ; they must stop at the same epoch)."""
    if world == 1:
        return flag
    t = torch.tensor([int(flag)], device=device)  # nccl needs a CUDA tensor
    dist.broadcast(t, src=0)
    return bool(t.item())


def _scheduler(opt: torch.optim.Optimizer, args: argparse.Namespace) -> torch.optim.lr_scheduler.LRScheduler:
    if args.cosine:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs, eta_min=args.lr * 1e-2)
    return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(args.milestones), gamma=args.gamma)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run (or resume) a training; returns the final checkpoint dictionary (rank 0's view)."""
    world, rank, local_rank = _dist_info()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if args.batch % world:
        raise ValueError(f"--batch {args.batch} must be divisible by the number of processes {world}")
    use_amp = bool(args.amp and device.type == "cuda")
    out = Path(args.out)
    ckpt_path = out / "checkpoint.pt"
    options = parse_options(args.opt)
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items() if k != "func"}

    torch.manual_seed(args.seed)
    model = build_prior(args.prior, options).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = _scheduler(opt, args)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    state: dict[str, Any] = {"epoch": 0, "step": 0, "history": [], "seconds": 0.0}
    if args.init is not None and not (ckpt_path.exists() and not args.no_resume):
        model.load_state_dict(
            load_checked(args.init, how_to_obtain="Pass the checkpoint.pt of a finished run.", map_location=device)["model"]
        )
    if ckpt_path.exists() and not args.no_resume:
        ck = load_checked(ckpt_path, how_to_obtain="Delete it or pass --no-resume to start again.", map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        state = {k: ck[k] for k in ("epoch", "step", "history", "seconds")}
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    images = load_images(find_data(args.train, args.data_dir) if not Path(args.train).is_dir() else args.train, args.channels)
    val_images = []
    if rank == 0 and args.val:
        val_images = load_images(
            find_data(args.val, args.data_dir) if not Path(args.val).is_dir() else args.val, args.channels, args.val_limit
        )
    dataset = PatchDataset(images, args.patch, args.patches_per_epoch, seed=args.seed)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
    loader = DataLoader(dataset, batch_size=args.batch // world, sampler=sampler, shuffle=False, drop_last=True)
    lo, hi = (args.sigma, args.sigma) if args.sigma is not None else args.sigma_range
    t_start = time.perf_counter() - state["seconds"]

    while state["epoch"] < args.epochs:
        epoch = state["epoch"]
        dataset.set_epoch(epoch)
        net.train()
        noise_gen = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch * 7919 + rank)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.no_progress or rank != 0, leave=False)
        total, count = 0.0, 0
        for clean in bar:
            b = clean.shape[0]
            sigma = (lo + (hi - lo) * torch.rand(b, generator=noise_gen)) / 255.0
            noisy = clean + sigma.view(b, 1, 1, 1) * torch.randn(clean.shape, generator=noise_gen)
            clean, noisy, sigma = clean.to(device), noisy.to(device), sigma.to(device)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                loss = 0.5 * (net(noisy, sigma) - clean).pow(2).flatten(1).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            state["step"] += 1
            total, count = total + float(loss.detach()), count + 1
            bar.set_postfix(loss=f"{total / count:.3f}")
        sched.step()
        state["epoch"] = epoch + 1
        state["seconds"] = time.perf_counter() - t_start
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "step": state["step"],
            "loss": total / max(count, 1),
            "lr": opt.param_groups[0]["lr"],
            "seconds": round(state["seconds"], 1),
        }
        if rank == 0:
            if val_images:
                record["val_psnr"] = validate(model, val_images, args.val_sigma / 255.0, device)
            state["history"].append(record)
            ck = {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "scaler": scaler.state_dict(),
                "config": config,
                "prior": args.prior,
                "options": options,
                **state,
            }
            save_atomic(ck, ckpt_path)
            with open(out / "log.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            if not args.no_progress:
                tqdm.write(json.dumps(record))
        if args.minutes is not None and _agreed(state["seconds"] > 60 * args.minutes, world, device):
            break
    if world > 1:
        dist.barrier()
    return {"model": model.state_dict(), "prior": args.prior, "options": options, "config": config, **state}


def run(args: argparse.Namespace) -> int:
    """Train from parsed arguments (``deq train`` and ``python -m deq.priors.train``); returns 0."""
    try:
        train(args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
