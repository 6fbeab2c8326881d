"""Training recipe ``deq train hsi``: the CNN prior's pretraining (eq. 12) and the end-to-end training of the four
models (eq. 13, 21-26), on one leave-one-scene-out fold of ``shared/data/hsi`` (:class:`deq.models.hsi.data.Fold`).

    deq train hsi-dictionary --held-out hydice-urban --out runs/hydice/dict                       # K-SVD, M = 512
    deq train hsi --model hsi-cnn --held-out hydice-urban --lr 1e-3 --batch 16 --out runs/hydice/cnn   # eq. 12
    deq train hsi --model deq-fast-sc --held-out hydice-urban --dictionary runs/hydice/dict/weights.pt \\
        --prior-weights runs/hydice/cnn/weights.pt --out runs/hydice/deq-fast-sc                   # eq. 13 / 21-26

Data: random ``--block x --block`` crops (flips, 90-degree rotations; deq-core's ``PatchDataset``) of the training
rows of the fold's two training scenes, with ``--augment spectral`` (the default) random band reversal, spectral gain
and scale (:func:`~deq.models.hsi.data.spectral_augment`: with two training scenes the networks otherwise learn their
sensors' spectra and do not transfer to the third), each with AWGN of a level drawn from ``--sigmas`` (0-255 scale)
per crop: one blind model for the three noise levels. Validation: PSNR on the held-out last rows of the training scenes at each
level (fixed noise); the test scene is never seen.

* ``--model hsi-cnn``: deq-priors' ``hsi-cnn`` (4 layers of 64 filters, ReLU, Miyato spectral normalisation, the
  clean block as output: :data:`~deq.models.hsi.models.PRIOR_OPTIONS`; sec. VI-B3) trained alone as a blind denoiser
  of blocks, ``min ||N(Y_i) - X_i||^2`` (eq. 12). The paper: Adam, lr 1e-3, batch 16, 150 epochs.
* ``--model du-full-sc|deq-full-sc|du-fast-sc|deq-fast-sc``: the model with the K-SVD dictionary ``--dictionary``
  (fixed) and the pretrained CNN ``--prior-weights``, trained end to end on ``min ||D G - X||^2`` (eq. 13, 31; the
  unrolled models through their K = 10 stages with a full graph, the equilibrium models by the implicit gradient of
  eq. 24-26 with Anderson, ``--max-iter`` iterations forward and backward). The paper: Adam, lr 1e-4, batch 16,
  100 epochs. ``b`` and ``mu`` (stored as logarithms) learn at ``--penalty-lr``. Their starting values and the
  fast models' support size, where given as 0 (the default), are the best of a small grid for the *untrained*
  model (K-SVD dictionary and pretrained CNN plugged in) on the validation rows: a plug-and-play start.

Everything else (DDP, ``--resume``, ``--minutes``, ``--init``, provenance in ``OUT/weights.pt``) is deq-core's harness.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from functools import cached_property
from typing import Any

import torch
from torch import Tensor, nn

from deq.core.errors import DeqError
from deq.core.images import PatchDataset
from deq.core.metrics import psnr
from deq.core.training import Recipe, StepContext, main_for
from deq.models.hsi.data import BANDS, SCENES, SIGMAS, Fold, add_noise, spectral_augment
from deq.models.hsi.models import BLOCK, HSI_SOLVER, PRIOR_OPTIONS
from deq.models.hsi.weights import MODELS

PRIOR = "hsi-cnn"
DATASET_LENGTH = 2**31 - 1
#: the starting values tried where ``--b``, ``--mu`` or ``--support`` is 0 (chosen on the validation rows)
B_CHOICES = (1.0, 4.0, 16.0)
MU_CHOICES = (0.01, 0.1)
SUPPORT_CHOICES = (4, 8, 16, 24)


def denoise(model: nn.Module, noisy: Tensor, block: int) -> Tensor:
    """A noisy cube ``[d, H, W]`` denoised by a sparse-coding model, or by the CNN prior alone applied to each
    ``block x block`` block (as the models apply it)."""
    from deq.models.hsi.blocks import from_blocks, to_blocks
    from deq.operators.simple import Denoising

    y = noisy[None]
    if isinstance(model, nn.Module) and hasattr(model, "problem"):
        return model(y, Denoising())[0][0]
    return from_blocks(model(to_blocks(y, block)), tuple(y.shape))[0]


@torch.no_grad()
def validation_psnr(model: nn.Module, cubes: list[Tensor], sigmas: tuple[int, ...], block: int, device: torch.device) -> dict:
    """Mean PSNR (dB) over ``cubes`` at each noise level (AWGN seeded by the level), outputs clipped to [0, 1]."""
    out = {}
    for sigma in sigmas:
        scores = []
        for i, cube in enumerate(cubes):
            noisy = add_noise(cube, sigma, seed=10_000 + 100 * sigma + i).to(device)
            rec = denoise(model, noisy, block).clamp(0, 1)
            scores.append(float(psnr(rec[None].float().cpu(), cube[None])))
        out[f"val_psnr_sigma{sigma}"] = sum(scores) / len(scores)
    return out


def prior_options(path: str, config: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The options (over :data:`~deq.models.hsi.models.PRIOR_OPTIONS`) of the pretrained CNN built from ``config``
    (the stored config of its weight file ``path``), which a model trained from it must build its CNN with (a
    residual CNN's weights in a direct one would be another network); ``given`` (``--prior-options``) may repeat
    them, not contradict them."""
    stored = {k: v for k, v in config.items() if k != "in_channels"}
    clash = sorted(k for k, v in given.items() if stored.get(k, PRIOR_OPTIONS.get(k)) != v)
    if clash:
        raise ValueError(
            f"--prior-options {given} contradict the CNN of --prior-weights '{path}' in {clash} (the file has {stored}); "
            "a model takes its CNN's options from that file"
        )
    return stored


def _provenance_line(path: str, what: str, provenance: dict[str, Any]) -> str:
    """``path``, ``what`` it holds, and how it was made (:func:`~deq.core.weights.provenance_summary`)."""
    from deq.core.weights import provenance_summary

    return f"{path} ({what}, {provenance_summary(provenance)})"


class HSIRecipe(Recipe):
    """CNN pretraining and end-to-end training of the sparse-coding models (see the module docstring)."""

    name = "hsi"
    architecture = ("prior_options",)  # the CNN's; a model's --init phase takes the file's whole config (build)
    defaults = {"steps": 300, "batch": 8, "lr": 1e-4, "ckpt_every": 25}

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", choices=(PRIOR, *MODELS), required=True, help="the CNN prior alone, or a model end to end")
        p.add_argument("--held-out", choices=sorted(SCENES), required=True, help="the test scene, left out of the training")
        p.add_argument("--dictionary", default=None, help="K-SVD dictionary file (deq train hsi-dictionary); models only")
        p.add_argument(
            "--prior-weights", default=None, help="the pretrained hsi-cnn (deq train hsi --model hsi-cnn); models only"
        )
        p.add_argument(
            "--prior-options",
            default="{}",
            help="hsi-cnn: options over PRIOR_OPTIONS (JSON, e.g. '{\"residual\": true}'); models: from --prior-weights",
        )
        p.add_argument("--block", type=int, default=BLOCK, help="block side n of the training crops")
        p.add_argument("--sigmas", type=int, nargs="+", default=list(SIGMAS), help="noise levels (0-255) drawn per crop")
        p.add_argument(
            "--augment", choices=("spectral", "none"), default="spectral", help="random band reversal, spectral gain and scale"
        )
        p.add_argument(
            "--support",
            type=int,
            default=0,
            help=f"fast models: atoms per block; 0 (default): chosen from {list(SUPPORT_CHOICES)} on the validation rows",
        )
        p.add_argument("--support-method", choices=("omp", "lasso"), default="omp", help="fast models: support of the centroid")
        p.add_argument("--b", type=float, default=0.0, help=f"initial penalty b; 0 (default): chosen from {list(B_CHOICES)}")
        p.add_argument(
            "--mu",
            type=float,
            default=0.0,
            help=f"full models: initial sparsity weight mu; 0 (default): chosen from {list(MU_CHOICES)}",
        )
        p.add_argument("--max-iter", type=int, default=HSI_SOLVER.max_iter, help="equilibrium models: Anderson iterations")
        p.add_argument("--penalty-lr", type=float, default=1e-2, help="learning rate of log b and log mu")

    # -- the network --------------------------------------------------------------------------------------
    def _config(self, atoms: int, prior: dict[str, Any]) -> dict[str, Any]:
        o, name = self.options, self.options["model"]
        config: dict[str, Any] = {"bands": BANDS, "atoms": atoms, "block": o["block"], "prior": prior}
        config["b"] = o["b"]  # 0: chosen in build
        if "full" in name:
            config["mu"] = o["mu"]
        if "fast" in name:
            config.update(support=o["support"], support_method=o["support_method"])  # 0: chosen in build
        if name.startswith("deq"):
            config["solver"] = HSI_SOLVER.replace(max_iter=o["max_iter"], backward_max_iter=o["max_iter"]).to_dict()
        return config

    def build(self) -> tuple[nn.Module, str, str, dict[str, Any]]:
        from deq.core.registry import create
        from deq.core.weights import load_weights
        from deq.models.hsi.weights import DICTIONARY, load_dictionary_operator

        o = self.options
        if o["model"] == PRIOR:
            config = {"in_channels": BANDS, **PRIOR_OPTIONS, **json.loads(o["prior_options"])}
            return create("prior", PRIOR, **config), "prior", PRIOR, config
        if self.settings.init:
            return self._from_init(create)
        if not o["dictionary"] or not o["prior_weights"]:
            raise ValueError(f"--model {o['model']} trains end to end from --dictionary and --prior-weights; give both")
        dictionary = load_dictionary_operator(o["dictionary"])
        D = dictionary.D.detach().clone()
        prior = load_weights(o["prior_weights"], kind="prior", name=PRIOR)
        options = prior_options(o["prior_weights"], prior.weights_config, json.loads(o["prior_options"]))
        self.sources = (
            f"dictionary {_provenance_line(o['dictionary'], f'operator {DICTIONARY!r}', dictionary.provenance)}; CNN initialised "
            f"from {_provenance_line(o['prior_weights'], f'prior {PRIOR!r}', prior.provenance)}"
        )

        def make(config: dict[str, Any]) -> nn.Module:
            model = create("model", o["model"], **config)
            model.set_dictionary(D)
            model.map.prior.load_state_dict(prior.state_dict())
            return model

        config = self._config(D.shape[1], options)
        grid = {"b": B_CHOICES, "mu": MU_CHOICES, "support": SUPPORT_CHOICES}
        auto = {k: grid[k] for k in ("b", "mu", "support") if k in config and not config[k]}
        if auto:
            config.update(self.choose_start(make, config, auto))
        return make(config), "model", o["model"], config

    def _from_init(self, create: Any) -> tuple[nn.Module, str, str, dict[str, Any]]:
        """A new phase of a model (``--init W.pt``): the network is ``W.pt``'s, built from its stored config (the
        dictionary size, the CNN, and the ``b`` / ``mu`` / ``support`` chosen when it started), so nothing is chosen
        again and ``--dictionary`` / ``--prior-weights`` are not needed (their tensors are in ``W.pt``)."""
        from deq.core.weights import read_weights

        path, name = self.settings.init, self.options["model"]
        blob = read_weights(path, how_to_obtain="Pass a deq weight file (the weights.pt of an earlier run).")
        if (blob["kind"], blob["name"]) != ("model", name):
            raise DeqError(f"--init {path} holds {blob['kind']} '{blob['name']}', but --model {name} is trained")
        self.sources = f"dictionary, CNN and starting values from --init {path}"
        config = blob["config"]
        return create("model", name, **config), "model", name, config

    def choose_start(self, make: Any, config: dict[str, Any], grid: dict[str, tuple]) -> dict[str, Any]:
        """The starting values (``b``, ``mu``, ``support``: those given as 0) among ``grid`` whose untrained model (the
        K-SVD dictionary and the pretrained CNN as they are) has the best mean validation PSNR over ``--sigmas``."""
        cubes = self.fold.validation_cubes(self.settings.data_dir)
        scores = {}
        for values in itertools.product(*grid.values()):
            choice = dict(zip(grid, values))
            psnrs = validation_psnr(
                make({**config, **choice}).eval(),
                cubes,
                tuple(self.options["sigmas"]),
                self.options["block"],
                torch.device("cpu"),
            )
            scores[json.dumps(choice)] = sum(psnrs.values()) / len(psnrs)
        best = max(scores, key=scores.get)
        print(json.dumps({"start": json.loads(best), "validation_psnr": scores}), flush=True)
        self.start_scores = scores
        return json.loads(best)

    def optimizer(self, model: nn.Module):
        penalties = [p for n, p in model.named_parameters() if n.startswith("map.penalties.")]
        others = [p for n, p in model.named_parameters() if not n.startswith("map.penalties.")]
        groups = [{"params": others, "lr": self.settings.lr}]
        if penalties:
            groups.append({"params": penalties, "lr": self.options["penalty_lr"]})
        return torch.optim.Adam(groups), None

    # -- data ---------------------------------------------------------------------------------------------
    @cached_property
    def fold(self) -> Fold:
        return Fold(self.options["held_out"])

    @cached_property
    def patches(self) -> PatchDataset:
        cubes = self.fold.training_cubes(self.settings.data_dir)
        return PatchDataset(cubes, self.options["block"], length=DATASET_LENGTH, seed=self.settings.seed)

    def step(self, model: nn.Module, ctx: StepContext) -> dict[str, float]:
        from deq.operators.simple import Denoising

        clean = torch.stack([self.patches[i] for i in ctx.items(len(self.patches))])
        if self.options["augment"] == "spectral":
            clean = spectral_augment(clean, ctx.generator)
        levels = torch.tensor(self.options["sigmas"], dtype=clean.dtype)
        sigma = levels[torch.randint(len(levels), (clean.shape[0],), generator=ctx.generator)]
        noisy = add_noise(clean, sigma, generator=ctx.generator)
        clean, noisy = clean.to(ctx.device), noisy.to(ctx.device)
        if self.options["model"] == PRIOR:
            loss = nn.functional.mse_loss(model(noisy).float(), clean)  # eq. 12
            loss.backward()
            return {"loss": float(loss.detach())}
        out, info = model(noisy, Denoising())
        loss = nn.functional.mse_loss(out.float(), clean)  # eq. 13 / 21
        loss.backward()
        values = {"loss": float(loss.detach()), "b": float(model.map.b.detach())}
        if "full" in self.options["model"]:
            values["mu"] = float(model.map.mu.detach())
        if info is not None:
            values["iters"] = float(info.nstep.float().mean())
            if info.backward is not None:
                values["backward_iters"] = float(info.backward.nstep.float().mean())
        return values

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        cubes = self.fold.validation_cubes(self.settings.data_dir)
        return validation_psnr(model, cubes, tuple(self.options["sigmas"]), self.options["block"], device)

    def data_note(self) -> str:
        o = self.options
        note = (
            f"{self.fold.note(self.settings.data_dir)}; {o['block']}x{o['block']} crops with flips and rotations"
            f"{', random band reversal, smooth spectral gain and scale' if o['augment'] == 'spectral' else ''}, "
            f"AWGN sigma drawn from {o['sigmas']}/255 per crop"
        )
        if getattr(self, "start_scores", None):
            scores = "; ".join(f"{k}: {v:.2f}" for k, v in self.start_scores.items())
            note += f"; starting values chosen on the validation rows (mean PSNR dB of the untrained model: {scores})"
        if o["model"] != PRIOR:
            note += f"; {self.sources}"
        return note

    def weight_files(self) -> list[str]:
        o = self.options
        if o["model"] == PRIOR or self.settings.init:
            return []
        return [o["dictionary"], o["prior_weights"]]


def main(argv: list[str] | None = None) -> int:
    """``deq train hsi [flags]``: the CNN prior or a sparse-coding model; see ``--help``."""
    return main_for(HSIRecipe, argv, "deq train hsi", __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
