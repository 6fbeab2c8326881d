"""One weights format for every shipped or user-trained deq module, and its one loader.

A weight file is a ``torch.save`` of plain containers (read with ``torch.load(weights_only=True)``)::

    {"format": "deq-weights/1",
     "kind": registry kind ("model", "prior", ...), "name": registered name,
     "config": the keyword arguments that rebuild the module: registry.create(kind, name, **config),
     "state_dict": module.state_dict(),
     "provenance": how the weights were made (see PROVENANCE_KEYS)}

and a JSON file beside it (same stem, ``.json``) repeats everything but the tensors, for people. Files are
written atomically (:func:`deq.core.checkpoint.save_atomic`). :func:`load_weights` rebuilds the module from the
registry — so a loader never imports a training module — checks it against the file (kind, name, every
tensor's key and shape) and returns it in eval mode with ``module.provenance`` set.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from deq.core.checkpoint import load_checked, save_atomic
from deq.core.errors import WeightsError

FORMAT = "deq-weights/1"
FILE_KEYS = ("format", "kind", "name", "config", "state_dict", "provenance")
#: what every provenance records (training recipes fill it with :func:`make_provenance`)
PROVENANCE_KEYS = ("script", "command", "data", "steps", "seed", "device", "wall_seconds", "metrics")


def make_provenance(
    *,
    script: str,
    command: str,
    data: str,
    steps: int,
    seed: int,
    device: str,
    wall_seconds: float,
    validation: Mapping[str, Any] | None = None,
    test: Mapping[str, Any] | None = None,
    init: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A provenance dictionary with every required key.

    Args:
        script: the program that trained (e.g. ``"deq train sci"``).
        command: the full command line.
        data: which data trained and validated it (folders, splits, held-out parts).
        steps: optimizer steps of this phase; seed, device, wall_seconds: as named.
        validation, test: metrics on held-out validation data and on test data (never training data).
        init: the provenance of the weights this phase started from (``--init``), kept whole, so every phase
            of a multi-session training stays on record.
        extra: anything else worth keeping (epochs, batch, processes, loss, ...).
    """
    prov = {
        "script": script,
        "command": command,
        "data": data,
        "steps": int(steps),
        "seed": int(seed),
        "device": device,
        "wall_seconds": round(float(wall_seconds), 1),
        "metrics": {"validation": dict(validation or {}), "test": dict(test or {})},
        **extra,
    }
    if init is not None:
        prov["init"] = dict(init)
    return prov


def file_record(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{"weights": path, "sha256": hex digest of its bytes}``: a file a training run read, traceable after the
    path moves or the file at that path changes. ``FileNotFoundError`` names a missing file."""
    return {"weights": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def provenance_summary(provenance: Mapping[str, Any]) -> str:
    """How a weight file was made, in one line: the command of each session of its last phase (the first and each
    ``--resume``, from ``phases``) and its steps, then the same for each phase it started from (``--init``), newest
    first. Keys a file of an older format lacks are skipped."""
    parts, prov = [], provenance
    while True:
        commands = [p.get("command", "?") for p in prov.get("phases", [])] or [prov.get("command", "?")]
        made = f"made by `{commands[0]}`" + "".join(f", resumed by `{c}`" for c in commands[1:])
        parts.append(f"{made} ({prov.get('steps', '?')} steps)")
        init = prov.get("init")
        if not init or "provenance" not in init:
            return ", ".join(parts)
        parts.append(f"started from {init.get('weights', 'a weight file')}")
        prov = init["provenance"]


def check_provenance(provenance: Mapping[str, Any], where: str = "provenance") -> None:
    """Raise ``ValueError`` naming the missing keys unless ``provenance`` has every :data:`PROVENANCE_KEYS`."""
    missing = [k for k in PROVENANCE_KEYS if k not in provenance]
    if missing:
        raise ValueError(f"{where} lacks {missing}; every weight file records {list(PROVENANCE_KEYS)}")


def save_weights(
    module: nn.Module,
    path: str | os.PathLike[str],
    *,
    kind: str,
    name: str,
    config: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> Path:
    """Write ``module``'s weights in the deq format to ``path`` (atomically) and ``path.json`` beside it.

    ``config`` must rebuild the module through ``registry.create(kind, name, **config)`` and be JSON
    serialisable; ``provenance`` must hold every :data:`PROVENANCE_KEYS` (use :func:`make_provenance`).
    """
    check_provenance(provenance)
    try:  # through JSON: plain containers only (str subclasses such as torch.__version__ would not unpickle safely)
        meta = json.loads(json.dumps({"format": FORMAT, "kind": kind, "name": name, "config": config, "provenance": provenance}))
    except TypeError as exc:
        raise TypeError(f"save_weights: config and provenance must be JSON serialisable ({exc})") from exc
    path = Path(path)
    save_atomic({**meta, "state_dict": module.state_dict()}, path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, path.with_suffix(".json"))
    return path


def read_weights(path: str | os.PathLike[str], *, how_to_obtain: str = "", map_location: Any = "cpu") -> dict[str, Any]:
    """The validated contents of a deq weight file (``weights_only=True``); a missing, corrupted or foreign
    file is a :class:`~deq.core.errors.WeightsError` naming the file, what was expected and ``how_to_obtain``."""
    blob = load_checked(path, how_to_obtain=how_to_obtain, map_location=map_location)
    hint = f" {how_to_obtain}" if how_to_obtain else ""
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        found = sorted(blob) if isinstance(blob, dict) else type(blob).__name__
        raise WeightsError(
            f"'{path}' is not a deq weight file: expected a dictionary with format {FORMAT!r} and keys "
            f"{list(FILE_KEYS)}, found {found}. Published checkpoints of other projects are read by "
            f"deq.priors.import_checkpoint.{hint}"
        )
    missing = [k for k in FILE_KEYS if k not in blob]
    if missing:
        raise WeightsError(f"deq weight file '{path}' lacks {missing}.{hint}")
    return blob


def load_weights(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    name: str | None = None,
    how_to_obtain: str = "",
    map_location: Any = "cpu",
    **overrides: Any,
) -> nn.Module:
    """The module stored in ``path``, rebuilt through the registry, with its weights, in eval mode.

    ``kind`` / ``name`` given are checked against the file (a DE-RNN file where a DE-GAP was asked for is an
    error). ``overrides`` replace entries of the stored config; where both are dictionaries they are merged
    (``solver={"max_iter": 100}`` changes one solver setting). Sets ``module.provenance``,
    ``module.weights_path`` and ``module.weights_config`` (the config it was built from, overrides included).
    """
    blob = read_weights(path, how_to_obtain=how_to_obtain, map_location=map_location)
    for what, want in (("kind", kind), ("name", name)):
        if want is not None and blob[what] != want:
            raise WeightsError(
                f"'{path}' holds the weights of {blob['kind']} '{blob['name']}', but {what} {want!r} was asked for"
            )
    from deq.core.registry import create

    config = dict(blob["config"])
    for key, value in overrides.items():
        old = config.get(key)
        config[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, Mapping) else value
    module = create(blob["kind"], blob["name"], **config)
    try:
        module.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise WeightsError(f"'{path}' does not fit {blob['kind']} '{blob['name']}' built from its stored config: {exc}") from exc
    module.provenance = blob["provenance"]
    module.weights_path = str(path)
    module.weights_config = config
    return module.eval()
