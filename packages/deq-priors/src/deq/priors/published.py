"""Importing denoiser checkpoints that other authors published into deq's own classes (no third-party code).

Users often have these files on disk; deq reads them, checks their layout exactly, and returns deq priors:

* ``"ffdnet-ipol"``: the IPOL FFDNet (Tassano 2018; gray ``net_gray.pth``: 15 layers, 64 channels; colour
  ``net_rgb.pth``: 12 layers, 96 channels), a ``nn.DataParallel`` state dict with keys
  ``module.intermediate_dncnn.itermediate_dncnn.N.*``. Layer for layer it is deq's
  :class:`~deq.priors.ffdnet.FFDNet` (``batch_norm=True``, residual output ``x - net``) with two differences,
  mapped here: the IPOL net has no bias on its first and last convolution (deq's are set to zero), and its
  input stacks the noise map *before* the ``4 C`` sub-images where deq's stacks it after (the first
  convolution's input channels are permuted); the colour net takes one noise map per colour channel, all equal
  for AWGN, so their weights are summed into deq's single map (exact). Input convention: intensities in
  ``[0, 1]``, ``sigma`` on that scale (``25/255``).
* ``"dncnn-kair"``: KAIR's DnCNN-S (Zhang et al. 2017, ``dncnn_25.pth``: 17 layers, 64 channels, batch norm
  folded into biased convolutions), keys ``model.N.weight/bias``: deq's :class:`~deq.priors.dncnn.DnCNN` with
  ``batch_norm=False, bias=True``, residual output.

A file of another architecture, or a truncated one, is a :class:`~deq.core.errors.WeightsError` naming what was
expected. These files are never copied into deq: commands that save an imported or fine-tuned network write to a
path the user names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.checkpoint import load_checked
from deq.core.errors import WeightsError

ARCHS = ("ffdnet-ipol", "dncnn-kair")
_IPOL_PREFIX = "module.intermediate_dncnn.itermediate_dncnn."


def _layer_indices(state: dict[str, Tensor], prefix: str) -> list[int]:
    return sorted({int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))})


def _ffdnet_ipol(state: dict[str, Tensor], path: Path) -> tuple[nn.Module, dict[str, Any]]:
    from deq.priors.ffdnet import FFDNet

    convs = [i for i in _layer_indices(state, _IPOL_PREFIX) if state[f"{_IPOL_PREFIX}{i}.weight"].dim() == 4]
    first, last = state[f"{_IPOL_PREFIX}{convs[0]}.weight"], state[f"{_IPOL_PREFIX}{convs[-1]}.weight"]
    width, channels = first.shape[0], last.shape[0] // 4
    noise_maps = first.shape[1] - 4 * channels
    if noise_maps not in (1, channels):
        raise WeightsError(
            f"'{path}': the first convolution takes {first.shape[1]} channels; an FFDNet on {channels} channel(s) "
            f"takes 4 C + 1 or 4 C + C (one noise map per colour channel) = {4 * channels + 1} or {5 * channels}"
        )
    config = {"in_channels": channels, "depth": len(convs), "width": width, "batch_norm": True, "residual": True}
    model = FFDNet(**config)
    ours = model.state_dict()
    mapped: dict[str, Tensor] = {}
    for key, value in state.items():
        if not key.startswith(_IPOL_PREFIX):
            raise WeightsError(f"'{path}': unexpected key {key!r}; an IPOL FFDNet has only {_IPOL_PREFIX}N.* keys")
        mapped["body." + key[len(_IPOL_PREFIX) :]] = value
    w0 = mapped[f"body.{convs[0]}.weight"]  # IPOL: [noise maps, sub-images]; deq: [sub-images, one noise map]
    noise = w0[:, :noise_maps].sum(dim=1, keepdim=True)  # the colour net's C noise maps are equal: one map
    mapped[f"body.{convs[0]}.weight"] = torch.cat([w0[:, noise_maps:], noise], dim=1)
    for i in (convs[0], convs[-1]):  # the IPOL net has no bias there; deq's FFDNet does: zero
        mapped[f"body.{i}.bias"] = torch.zeros_like(ours[f"body.{i}.bias"])
    return _load(model, mapped, path, "ffdnet-ipol"), config


def _dncnn_kair(state: dict[str, Tensor], path: Path) -> tuple[nn.Module, dict[str, Any]]:
    from deq.priors.dncnn import DnCNN

    convs = _layer_indices(state, "model.")
    channels, width = state[f"model.{convs[0]}.weight"].shape[1], state[f"model.{convs[0]}.weight"].shape[0]
    config = {"in_channels": channels, "depth": len(convs), "width": width, "batch_norm": False, "bias": True, "residual": True}
    model = DnCNN(**config)
    mapped = {"body." + k[len("model.") :]: v for k, v in state.items()}
    return _load(model, mapped, path, "dncnn-kair"), config


def _load(model: nn.Module, state: dict[str, Tensor], path: Path, arch: str) -> nn.Module:
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"'{path}' does not fit a {arch} network layer for layer: {str(exc).splitlines()[0][:300]}") from exc
    return model


def detect_arch(state: dict[str, Tensor]) -> str | None:
    """The published architecture a state dict's key layout belongs to (``None`` when none fits)."""
    if state and all(k.startswith(_IPOL_PREFIX) for k in state):
        return "ffdnet-ipol"
    if state and all(re.fullmatch(r"model\.\d+\.(weight|bias)", k) for k in state):
        return "dncnn-kair"
    return None


def import_checkpoint(path: str | os.PathLike[str], arch: str | None = None) -> nn.Module:
    """A published checkpoint as a deq prior in eval mode, with ``.provenance`` saying where it came from.

    Args:
        path: the file as its authors published it (a ``state_dict``; loaded with ``weights_only=True``).
        arch: one of :data:`ARCHS`, or ``None`` to recognise it from its keys.

    Raises:
        WeightsError: missing, unreadable or truncated file, or a layout that is not ``arch`` (names what was
            expected and what was found).
    """
    path = Path(path)
    state = load_checked(path, how_to_obtain="Pass the checkpoint as its authors published it.", map_location="cpu")
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsError(f"'{path}' is not a state dict (a mapping of names to tensors); got {type(state).__name__}")
    found = detect_arch(state)
    if arch is None:
        arch = found
    if arch not in ARCHS:
        raise WeightsError(f"'{path}': unknown published architecture {arch!r}; deq imports {list(ARCHS)}")
    if found != arch:
        keys = ", ".join(list(state)[:3])
        raise WeightsError(f"'{path}' is not a {arch} checkpoint (its keys look like {found or 'none deq knows'}: {keys}, ...)")
    try:
        model, config = {"ffdnet-ipol": _ffdnet_ipol, "dncnn-kair": _dncnn_kair}[arch](state, path)
    except (KeyError, IndexError) as exc:  # a layer the layout needs is missing
        raise WeightsError(f"'{path}' does not fit a {arch} network layer for layer: no entry {exc}") from exc
    model.provenance = {"imported_from": str(path), "arch": arch, "config": config}
    return model.eval()


def load_denoiser(path: str | os.PathLike[str]) -> nn.Module:
    """A denoiser from ``path``: a deq weight file of a prior (:func:`deq.core.weights.load_weights`), or a published
    checkpoint :func:`import_checkpoint` recognises — what ``--denoiser-weights FILE`` takes."""
    from deq.core.weights import FORMAT, load_weights

    blob = load_checked(path, how_to_obtain="Pass a deq prior weight file or a published FFDNet/DnCNN checkpoint.")
    if isinstance(blob, dict) and blob.get("format") == FORMAT:
        return load_weights(path, kind="prior")
    return import_checkpoint(path)
