"""One training harness for every deq recipe: distributed set-up, deterministic data order, atomic resumable
checkpoints, a wall-clock budget, progress, mixed precision and provenance.

A recipe (``deq train NAME``; e.g. deq-priors' AWGN denoisers, deq-models-sci's DE-GAP) subclasses
:class:`Recipe`: it builds the module to train (with the registry kind, name and config that rebuild it),
computes one step's loss *and calls backward on it* (possibly in pieces, e.g. one equilibrium solve per
sample), validates on held-out data, and adds its own command-line flags. :func:`fit` does the rest:

* **Distributed**: started by ``torchrun`` (``WORLD_SIZE``/``RANK``/``LOCAL_RANK``), one process per device,
  gloo on CPU, nccl on CUDA. Every rank starts from rank 0's weights, and after each step's backward the
  gradients are averaged over ranks with one flattened all-reduce — which works for any forward path
  (implicit-backward nodes, several solves per step), where DDP's wrapper needs exactly one forward per step.
* **Data order**: before step ``s`` on rank ``r`` the global RNG is seeded from ``(seed, s, r)`` and the step
  gets a generator seeded the same way; recipes draw items ``(s * world + r) * b + i`` (:meth:`StepContext.items`)
  of datasets whose item ``i`` is a deterministic function of ``i`` (:class:`~deq.core.images.PatchDataset`).
  An interrupted and resumed run therefore sees exactly the data of an uninterrupted one.
* **Checkpoints**: ``OUT/checkpoint.pt`` every ``--ckpt-every`` steps and at the end, written atomically,
  holding model, optimizer, scheduler, step, elapsed time, log history, the RNG states and the run's options.
  ``--resume`` continues from it (an error when it does not exist, or when the run's options changed); without
  ``--resume`` an existing checkpoint is an error, never silently overwritten or ignored.
* **Budget**: ``--minutes`` stops after the step that exceeds it (all ranks agree), with a checkpoint.
* **Progress**: a tqdm bar on rank 0; ``OUT/log.jsonl`` gets a record every ``--log-every`` steps.
* **Mixed precision**: ``--amp`` runs each step under bf16 autocast on CUDA (no gradient scaler needed);
  it is ignored on CPU.
* **Provenance**: rank 0 writes ``OUT/weights.pt`` in deq's weights format with the command, data, steps,
  seed, device, wall time, validation metrics and the provenance of any ``--init`` weights; ``phases`` lists
  every session of the run (the first and each ``--resume``: its command, the step and training seconds it
  started from, and the sha256 of the weight files the recipe read, :meth:`Recipe.weight_files`).
* **New phases**: ``--init W.pt`` starts from a weight file with a fresh optimizer; the recipe's
  :attr:`Recipe.architecture` flags default to the values ``W.pt`` was trained with (its provenance's
  ``options``), so a phase need not repeat them; a flag given explicitly wins, and a network that then does not
  fit the file is an error naming both configs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.errors import DeqError
from deq.core.weights import file_record, make_provenance, read_weights, save_weights

#: settings a resumed run may change (everything else must match the checkpoint)
RESUMABLE_CHANGES = ("steps", "minutes", "threads", "device", "log_every", "ckpt_every", "val_every", "progress", "resume")


@dataclass
class TrainSettings:
    """The flags every recipe shares (``--out``, ``--steps``, ...; see :func:`add_settings_arguments`)."""

    out: str = ""
    steps: int = 1000
    batch: int = 16
    lr: float = 1e-3
    seed: int = 0
    resume: bool = False
    init: str | None = None
    minutes: float | None = None
    threads: int | None = None
    device: str | None = None
    amp: bool = False
    log_every: int = 10
    ckpt_every: int = 50
    val_every: int = 0
    progress: bool = True
    data_dir: str | None = None


_HELP = {
    "out": "run folder: checkpoint.pt, log.jsonl and the final weights.pt are written here (required)",
    "steps": "optimizer steps in total (a resumed run continues up to this number)",
    "batch": "global batch size per step, split over the torchrun processes",
    "lr": "Adam learning rate at the start",
    "seed": "seed of the initialisation and of the data drawn at every step",
    "resume": "continue the run in --out from its checkpoint.pt (an error if there is none)",
    "init": "start from the weights of a deq weight file (a fresh optimizer: a new training phase); its provenance "
    "is kept in the new file's, and the recipe's architecture flags default to the file's",
    "minutes": "wall-clock budget: stop after the step that exceeds it, with a checkpoint (default: none)",
    "threads": "torch CPU threads per process (default: torch's choice)",
    "device": "cpu or cuda (default: cuda when available)",
    "amp": "bf16 autocast on CUDA (ignored on CPU)",
    "log_every": "steps between log records (log.jsonl, progress bar)",
    "ckpt_every": "steps between checkpoints",
    "val_every": "steps between validations (0: only at the end)",
    "progress": "show a progress bar on rank 0 (--no-progress to hide it)",
    "data_dir": "benchmark data root (default: DEQ_DATA, then ../shared/data beside the checkout)",
}


def add_settings_arguments(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """Add the shared flags to ``parser``, with ``defaults`` overriding :class:`TrainSettings`' defaults."""
    base = TrainSettings()
    for f in fields(TrainSettings):
        flag = "--" + f.name.replace("_", "-")
        default = defaults.get(f.name, getattr(base, f.name))
        if f.name == "progress":
            parser.add_argument("--no-progress", dest="progress", action="store_false", help=_HELP["progress"])
        elif f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", default=default, help=_HELP[f.name])
        else:
            kind = {"int": int, "float": float, "float | None": float, "int | None": int}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=default, required=f.name == "out", help=_HELP[f.name])


def settings_from(args: argparse.Namespace) -> TrainSettings:
    """The :class:`TrainSettings` part of parsed arguments."""
    return TrainSettings(**{f.name: getattr(args, f.name) for f in fields(TrainSettings)})


@dataclass
class StepContext:
    """What a recipe's step needs: the step number, this process's rank, the data-parallel world size, the
    device, the per-process batch size and a generator seeded from ``(seed, step, rank)``."""

    step: int
    rank: int
    world: int
    device: torch.device
    batch: int
    generator: torch.Generator

    def items(self, n_items: int) -> list[int]:
        """Dataset indices of this step on this rank: ``(step * world + rank) * batch + i`` modulo ``n_items``."""
        first = (self.step * self.world + self.rank) * self.batch
        return [(first + i) % n_items for i in range(self.batch)]


class Recipe(ABC):
    """A training recipe run by :func:`fit`. Subclasses set ``name`` (the ``deq train NAME``) and implement
    :meth:`build`, :meth:`step`, :meth:`validate` and :meth:`data_note`; ``settings`` and ``options`` (the
    recipe's own flags, stored for resume checks and provenance) are set by the constructor. ``architecture``
    names the options (argparse ``dest`` names of optional flags) that define the network: with ``--init W.pt``
    those not given on the command line take ``W.pt``'s values."""

    name: str = ""
    architecture: tuple[str, ...] = ()

    def __init__(self, settings: TrainSettings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options

    @classmethod
    @abstractmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the recipe's own flags (each with help text); their values become ``self.options``."""

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """The default of each of the recipe's own optional flags (``dest -> default``), as parsing gives it (a string
        default goes through the flag's ``type``); flags whose default is suppressed are left out."""
        parser = argparse.ArgumentParser(add_help=False)
        cls.add_arguments(parser)
        out = {}
        for a in parser._actions:
            if a.default is argparse.SUPPRESS:
                continue
            typed = isinstance(a.default, str) and a.type is not None
            out[a.dest] = parser._get_value(a, a.default) if typed else a.default
        return out

    @abstractmethod
    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        """The module to train and the ``(kind, name, config)`` that rebuild it (``registry.create``)."""

    @abstractmethod
    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        """One step's loss, with ``backward()`` called on it; returns log values (``"loss"`` at least)."""

    @abstractmethod
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Metrics on held-out validation data (rank 0; the model is in eval mode)."""

    @abstractmethod
    def data_note(self) -> str:
        """Which data the run trains and validates on, for the provenance."""

    def optimizer(self, model: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """Adam at ``--lr`` and no schedule; recipes override for their schedules."""
        return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=self.settings.lr), None

    def test(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        """Metrics on test data for the provenance (default: none)."""
        return {}

    def weight_files(self) -> list[str]:
        """Weight files :meth:`build` reads besides ``--init`` (e.g. a pretrained denoiser to start from): each
        session of the run records them with their sha256 in its ``phases`` entry (default: none)."""
        return []


@dataclass
class Process:
    """This process's place in a (possibly single-process) distributed run."""

    world: int
    rank: int
    device: torch.device


def setup_process(device: str | None) -> Process:
    """Read torchrun's environment and start the process group (gloo on CPU, nccl on CUDA) when ``WORLD_SIZE > 1``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Process(world, rank, dev)


def _seed_everything(seed: int, step: int, rank: int) -> torch.Generator:
    value = (seed * 1_000_003 + step * 7919 + rank * 104_729 + 1) & 0x7FFF_FFFF
    torch.manual_seed(value)
    random.seed(value)
    np.random.seed(value)
    return torch.Generator().manual_seed(value)


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": repr(random.getstate()), "numpy": repr(np.random.get_state()[1].tolist())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _average_gradients(model: nn.Module, world: int) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def _agree(flag: bool, proc: Process) -> bool:
    """Rank 0's ``flag`` on every rank (clocks differ; all ranks must stop at the same step)."""
    if proc.world == 1:
        return flag
    t = torch.tensor([int(flag)], device=proc.device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def _autocast(settings: TrainSettings, device: torch.device) -> contextlib.AbstractContextManager:
    if settings.amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _run_options(recipe: Recipe) -> dict[str, Any]:
    return {"recipe": recipe.name, "settings": asdict(recipe.settings), "options": recipe.options}


def _check_resumable(saved: dict[str, Any], current: dict[str, Any], path: Path, defaults: dict[str, Any]) -> None:
    """Raise :class:`DeqError` unless the checkpoint's run options ``saved`` equal ``current`` but for
    :data:`RESUMABLE_CHANGES`. A flag the recipe gained after the run started (absent from ``saved``) counts as
    its default in ``defaults``: the rule for a new flag is that it is optional and its default is the earlier
    behaviour. New shared settings (:class:`TrainSettings` fields) are not covered."""

    def comparable(opts: dict[str, Any]) -> dict[str, Any]:
        settings = {k: v for k, v in opts["settings"].items() if k not in RESUMABLE_CHANGES}
        return {"recipe": opts["recipe"], "settings": settings, "options": {**defaults, **opts["options"]}}

    a, b = comparable(saved), comparable(current)
    if a != b:
        diff = sorted(
            {k for k in a["settings"] if a["settings"].get(k) != b["settings"].get(k)}
            | {k for k in set(a["options"]) | set(b["options"]) if a["options"].get(k) != b["options"].get(k)}
        )
        raise DeqError(
            f"--resume: the run in {path.parent} was started with other options ({diff or 'another recipe'}); "
            f"resume with the same options (only {', '.join(RESUMABLE_CHANGES[:-1])} may change) or use a new --out"
        )


def _load_init(model: nn.Module, path: str, kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Load the weights of ``path`` (a deq weight file of the same kind and name, whose tensors fit this run's
    module; settings such as the solver may differ) into ``model``; returns the parent's provenance record."""
    blob = read_weights(path, how_to_obtain="Pass a deq weight file (the weights.pt of an earlier run).")
    try:
        if (blob["kind"], blob["name"]) != (kind, name):
            raise RuntimeError(f"it holds {blob['kind']} '{blob['name']}'")
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise DeqError(
            f"--init {path} does not fit: {str(exc).splitlines()[0][:300]}; the file holds {blob['kind']} "
            f"'{blob['name']}' with config {blob['config']}, this run builds {kind} '{name}' with config {config}"
        ) from exc
    return {**file_record(path), "config": blob["config"], "provenance": blob["provenance"]}


@contextlib.contextmanager
def _process_group(proc: Process) -> Iterator[None]:
    """Tear the process group down at the end of a run; on a normal exit every rank first waits at a barrier
    (rank 0 still validates and writes the weights while the others are done, and gloo aborts a process whose
    group is destroyed while a peer still holds its connections)."""
    ok = False
    try:
        yield
        ok = True
    finally:
        if proc.world > 1 and dist.is_initialized():
            if ok:
                dist.barrier()
            dist.destroy_process_group()


def fit(recipe: Recipe, argv: Sequence[str] = ()) -> dict[str, Any]:
    """Run (or resume) ``recipe``; returns the final validation metrics (rank 0; ``{}`` on other ranks).

    ``argv`` is the command line of the run, recorded in the provenance.
    """
    s = recipe.settings
    if not s.out:
        raise DeqError("--out is required: the run folder for checkpoint.pt, log.jsonl and weights.pt")
    proc = setup_process(s.device)
    with _process_group(proc):
        return _fit(recipe, proc, list(argv))


def _fit(recipe: Recipe, proc: Process, argv: list[str]) -> dict[str, Any]:
    from tqdm import tqdm

    s = recipe.settings
    if s.batch % proc.world:
        raise DeqError(f"--batch {s.batch} must be divisible by the number of processes {proc.world}")
    if s.threads:
        torch.set_num_threads(s.threads)
    run_dir = Path(s.out)
    ckpt_path = run_dir / "checkpoint.pt"
    if s.resume and not ckpt_path.is_file():
        raise DeqError(f"--resume: there is no checkpoint to resume from at {ckpt_path}")
    if not s.resume and ckpt_path.exists():
        raise DeqError(f"{ckpt_path} exists: pass --resume to continue that run, or choose another --out")
    _seed_everything(s.seed, -1, 0)  # the same initialisation on every rank
    model, kind, name, config = recipe.build()
    model = model.to(proc.device).train()
    init = _load_init(model, s.init, kind, name, config) if s.init else None
    opt, sched = recipe.optimizer(model)
    command = shlex.join(["deq", "train", *recipe.name.split(), *argv])
    step, elapsed_before, history, phases = 0, 0.0, [], []
    if s.resume:
        ck = load_checked(ckpt_path, how_to_obtain="Start again without --resume in a new --out.", map_location=proc.device)
        _check_resumable(ck["run"], _run_options(recipe), ckpt_path, type(recipe).option_defaults())
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["scheduler"])
        step, elapsed_before, history = int(ck["step"]), float(ck["elapsed"]), list(ck["history"])
        phases, init = list(ck.get("phases", [])), ck["init"]
    phase: dict[str, Any] = {"command": command, "from_step": step, "from_seconds": round(elapsed_before, 1)}
    read = [file_record(p) for p in recipe.weight_files()]
    if read:
        phase["weight_files"] = read
    phases.append(phase)
    if proc.world > 1:
        for t in model.state_dict().values():
            dist.broadcast(t, src=0)
    batch = s.batch // proc.world
    t0 = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - t0

    def save_checkpoint() -> None:
        if proc.rank == 0:
            save_atomic(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else {},
                    "step": step,
                    "elapsed": elapsed(),
                    "history": history,
                    "phases": phases,
                    "rng": _rng_state(),
                    "run": _run_options(recipe),
                    "init": init,
                },
                ckpt_path,
            )

    def log(record: dict[str, Any]) -> None:
        history.append(record)
        with open(run_dir / "log.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

    if proc.rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        if s.resume:
            log({"resumed_at_step": step})
    bar = tqdm(total=s.steps, initial=step, desc=f"deq train {recipe.name}", disable=proc.rank != 0 or not s.progress)
    window: dict[str, list[float]] = {}
    while step < s.steps:
        if s.minutes is not None and _agree(elapsed() > 60 * s.minutes, proc):
            if proc.rank == 0:
                tqdm.write(f"time budget of {s.minutes} min reached at step {step}")
            break
        gen = _seed_everything(s.seed, step, proc.rank)
        ctx = StepContext(step, proc.rank, proc.world, proc.device, batch, gen)
        opt.zero_grad(set_to_none=True)
        with _autocast(s, proc.device):
            values = recipe.step(model, ctx)
        if proc.world > 1:
            _average_gradients(model, proc.world)
        opt.step()
        if sched is not None:
            sched.step()
        step += 1
        bar.update(1)
        for key, value in values.items():
            window.setdefault(key, []).append(float(value))
        if proc.rank == 0 and (step % s.log_every == 0 or step == s.steps):
            record = {"step": step, **{k: sum(v) / len(v) for k, v in window.items()}}
            record.update(lr=opt.param_groups[0]["lr"], seconds=round(elapsed(), 1))
            if s.val_every and step % s.val_every == 0:
                record.update(_validate(recipe, model, proc.device))
            log(record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("step", "seconds")})
            window = {}
        if step % s.ckpt_every == 0:
            save_checkpoint()
    bar.close()
    save_checkpoint()
    if proc.rank != 0:
        return {}
    metrics = _validate(recipe, model, proc.device)
    test = recipe.test(model, proc.device)
    provenance = make_provenance(
        script=f"deq train {recipe.name}",
        command=command,
        data=recipe.data_note(),
        steps=step,
        seed=s.seed,
        device=f"{proc.device.type} x {proc.world} process(es)" + (f", {s.threads} thread(s) each" if s.threads else ""),
        wall_seconds=elapsed(),
        validation=metrics,
        test=test,
        init=init,
        batch=s.batch,
        processes=proc.world,
        torch=torch.__version__,
        settings=asdict(s),
        options=recipe.options,
        last_log=history[-1] if history else {},
        phases=phases,
    )
    save_weights(model, run_dir / "weights.pt", kind=kind, name=name, config=config, provenance=provenance)
    print(json.dumps({"weights": str(run_dir / "weights.pt"), "steps": step, **metrics}), flush=True)
    return metrics


def _validate(recipe: Recipe, model: nn.Module, device: torch.device) -> dict[str, float]:
    model.eval()
    try:
        with torch.no_grad():
            return recipe.validate(model, device)
    finally:
        model.train()


class _Unset(list):
    """A default no parsed value can be (a list subclass, so that ``append`` actions copy and extend it)."""


def _given_explicitly(parser: argparse.ArgumentParser, argv: list[str], dests: list[str]) -> set[str]:
    """Which of ``dests`` the command line ``argv`` sets (parsed once with a marker default for each)."""
    saved = {d: parser.get_default(d) for d in dests}
    markers = {d: _Unset() for d in dests}
    parser.set_defaults(**markers)
    try:
        args = parser.parse_args(argv)
    finally:
        parser.set_defaults(**saved)
    return {d for d in dests if getattr(args, d) is not markers[d]}


def _check_choices(parser: argparse.ArgumentParser, values: dict[str, Any], path: str) -> None:
    """Raise :class:`DeqError` when a value taken from the weight file ``path`` is not among its flag's ``choices``
    (argparse checks only what is typed, not defaults): e.g. a file of an older version with a name this one lacks."""
    for action in parser._actions:
        if action.dest not in values or action.choices is None or values[action.dest] == action.default:
            continue
        value = values[action.dest]
        stale = [v for v in (value if isinstance(value, list) else [value]) if v not in action.choices]
        if stale:
            flag = action.option_strings[-1] if action.option_strings else action.dest
            raise DeqError(
                f"--init {path}: the file was trained with {flag} {value!r}, which this version does not offer "
                f"({', '.join(map(repr, stale))} not among the choices {', '.join(map(str, action.choices))}); "
                f"give {flag} explicitly"
            )


def init_architecture(recipe_cls: type[Recipe], path: str) -> dict[str, Any]:
    """The values of ``recipe_cls.architecture`` that the weight file ``path`` was trained with: the options in
    its provenance when the same recipe wrote it; ``{}`` otherwise (another recipe, or a file without them,
    e.g. one converted from an older format)."""
    if not recipe_cls.architecture:
        return {}
    blob = read_weights(path, how_to_obtain="Pass a deq weight file (the weights.pt of an earlier run).")
    provenance = blob["provenance"]
    if provenance.get("script") != f"deq train {recipe_cls.name}":
        return {}
    options = provenance.get("options") or {}
    return {k: options[k] for k in recipe_cls.architecture if k in options}


def recipe_parser(recipe_cls: type[Recipe], prog: str | None = None, description: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser of ``recipe_cls``: the shared flags (with the recipe's ``defaults``) and its own."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_settings_arguments(parser, **getattr(recipe_cls, "defaults", {}))
    recipe_cls.add_arguments(parser)
    return parser


def recipe_from(recipe_cls: type[Recipe], args: argparse.Namespace) -> Recipe:
    """``recipe_cls`` with the parsed ``args`` split into the shared settings and the recipe's own options."""
    shared = {f.name for f in fields(TrainSettings)}
    return recipe_cls(settings_from(args), {k: v for k, v in vars(args).items() if k not in shared})


def main_for(recipe_cls: type[Recipe], argv: Sequence[str] | None, prog: str, description: str) -> int:
    """Parse ``argv`` (the shared flags plus the recipe's ``add_arguments``), then :func:`fit`; returns 0."""
    parser = recipe_parser(recipe_cls, prog, description)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    inherited = init_architecture(recipe_cls, args.init) if args.init else {}
    if inherited:
        given = _given_explicitly(parser, argv, list(inherited))
        inherited = {k: v for k, v in inherited.items() if k not in given}
        _check_choices(parser, inherited, args.init)
        parser.set_defaults(**inherited)
        args = parser.parse_args(argv)
        if inherited and int(os.environ.get("RANK", "0")) == 0:
            print(f"--init {args.init}: architecture flags taken from the file: {inherited}", flush=True)
    fit(recipe_from(recipe_cls, args), argv)
    return 0
