"""Export a training checkpoint as shipped weights with provenance and test PSNR:
``python -m deq.priors.export --checkpoint RUN/checkpoint.pt --name ffdnet-gray``.

Writes ``<dest>/<name>.pt`` (weights-only dictionary, see :mod:`deq.priors.weights`) and ``<name>.json``
(the same provenance). Test PSNR is measured on held-out folders (default BSD68 and Set12) at the
given noise levels with fixed noise seeds; outputs are clipped to ``[0, 1]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.data import find_data
from deq.priors.data import load_images
from deq.priors.train import build_prior, validate
from deq.priors.weights import WEIGHTS_DIR


def test_psnr(
    model: torch.nn.Module, sets: list[str], sigmas: list[float], data_dir: str | None = None
) -> dict[str, dict[str, float]]:
    """``{set: {sigma: mean PSNR}}`` on the image folders ``sets`` (relative to the data root)."""
    out: dict[str, dict[str, float]] = {}
    for name in sets:
        images = load_images(find_data(name, data_dir))
        out[Path(name).name] = {f"{s:g}": round(validate(model, images, s / 255.0, torch.device("cpu")), 3) for s in sigmas}
    return out


def _command(ck: dict[str, Any]) -> str:
    """The training command that produced checkpoint ``ck`` (paths shortened to RUN / INIT)."""
    cfg = ck["config"]
    parts = [f"--prior {ck['prior']}"] + [f"--opt {o}" for o in cfg["opt"]]
    parts.append(
        f"--sigma {cfg['sigma']:g}" if cfg["sigma"] is not None else "--sigma-range {:g} {:g}".format(*cfg["sigma_range"])
    )
    keys = ("val_sigma", "val_limit", "patch", "batch", "patches_per_epoch", "epochs", "lr", "seed", "minutes", "threads")
    parts += [
        f"--{k.replace('_', '-')} {cfg[k]:g}" if isinstance(cfg[k], float) else f"--{k.replace('_', '-')} {cfg[k]}"
        for k in keys
        if cfg.get(k) is not None
    ]
    parts += (
        (["--cosine"] if cfg.get("cosine") else []) + (["--init INIT/checkpoint.pt"] if cfg.get("init") else []) + ["--out RUN"]
    )
    return "python -m deq.priors.train " + " ".join(parts)


def _phases(ck: dict[str, Any]) -> list[dict[str, Any]]:
    """Training phases, oldest first, following ``--init`` back to the first run."""
    phases = []
    while True:
        cfg = ck["config"]
        phases.append(
            {
                "command": _command(ck),
                "epochs": ck["epoch"],
                "steps": ck["step"],
                "patches": ck["step"] * cfg["batch"],
                "seconds": round(ck["seconds"], 1),
                "final_val_psnr": ck["history"][-1].get("val_psnr") if ck["history"] else None,
            }
        )
        if not cfg.get("init"):
            return phases[::-1]
        ck = load_checked(cfg["init"], how_to_obtain="The --init checkpoint of this run is needed for its provenance.")


def export(
    checkpoint: str,
    name: str,
    dest: Path = WEIGHTS_DIR,
    sets: list[str] | None = None,
    sigmas: list[float] | None = None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    """Write ``dest/name.pt`` and ``dest/name.json`` from a training checkpoint; returns the provenance."""
    ck = load_checked(checkpoint, how_to_obtain="Train one with `python -m deq.priors.train`.")
    model = build_prior(ck["prior"], dict(ck["options"]))
    model.load_state_dict(ck["model"])
    model.eval()
    cfg = ck["config"]
    phases = _phases(ck)
    t0 = time.perf_counter()
    tests = test_psnr(model, sets or ["natural/BSD68", "natural/Set12"], sigmas or [15, 25, 50], data_dir)
    provenance = {
        "name": name,
        "prior": ck["prior"],
        "options": ck["options"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "script": "deq.priors.train (deq-priors 0.1.0)",
        "command": " ; then ".join(p["command"] for p in phases),
        "phases": phases,
        "train_data": cfg["train"],
        "val_data": cfg["val"] + (f" (first {cfg['val_limit']} images)" if cfg.get("val_limit") else ""),
        "epochs": sum(p["epochs"] for p in phases),
        "steps": sum(p["steps"] for p in phases),
        "patches_seen": sum(p["patches"] for p in phases),
        "seed": cfg["seed"],
        "train_seconds": round(sum(p["seconds"] for p in phases), 1),
        "train_device": "CPU, 1 thread (shared 2-core machine)" if cfg.get("threads") == 1 else str(cfg.get("device")),
        "final_val_psnr": {f"{cfg['val_sigma']:g}": phases[-1]["final_val_psnr"]},
        "test_psnr": tests,
        "test_seconds": round(time.perf_counter() - t0, 1),
        "test_protocol": "AWGN with a fixed seed (1234), outputs clipped to [0, 1], PSNR on 8-bit images scaled to [0, 1]",
    }
    dest.mkdir(parents=True, exist_ok=True)
    save_atomic(
        {"prior": ck["prior"], "options": ck["options"], "state_dict": model.state_dict(), "provenance": provenance},
        dest / f"{name}.pt",
    ).chmod(0o644)
    (dest / f"{name}.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deq.priors.export", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--dest", default=str(WEIGHTS_DIR))
    p.add_argument(
        "--sets", nargs="*", default=None, help="test folders relative to the data root (default natural/BSD68 natural/Set12)"
    )
    p.add_argument("--sigmas", type=float, nargs="*", default=None, help="test noise levels x/255 (default 15 25 50)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(export(args.checkpoint, args.name, Path(args.dest), args.sets, args.sigmas, args.data_dir), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
