"""The fixed dictionary ``D [d, M]`` of the sparse-coding models: K-SVD on the clean training spectra of a fold
(Gkillas et al. sec. VI-B4: ``M = 512`` atoms for ``d = 31``), stored in deq's weights format.

A dictionary file is a deq weight file of kind ``"operator"`` and name ``"ksvd-dictionary"`` (registered by this
package: deq-operators' :class:`~deq.operators.dictionary.Dictionary` of the given shape) whose state is ``{"D": ...}``
and whose provenance says how K-SVD made it. ``deq train hsi-dictionary`` writes one::

    deq train hsi-dictionary --held-out hydice-urban --out runs/dict-hydice
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from deq.core.weights import make_provenance, save_weights
from deq.operators.dictionary import Dictionary

#: registry name of the dictionary operator whose weight files hold K-SVD dictionaries
NAME = "ksvd-dictionary"


def random_dictionary(bands: int, atoms: int, seed: int = 0) -> Tensor:
    """A ``[bands, atoms]`` dictionary of unit-norm Gaussian atoms (fixed ``seed``): the placeholder of a model
    built without weights, replaced by a learned one (``set_dictionary`` or a weight file)."""
    if not (isinstance(bands, int) and isinstance(atoms, int) and 1 <= bands <= atoms):
        raise ValueError(f"a dictionary needs 1 <= bands <= atoms (overcomplete), got bands={bands!r}, atoms={atoms!r}")
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(bands, atoms, generator=g)
    return D / D.norm(dim=0)


def ksvd_dictionary(bands: int = 31, atoms: int = 512) -> Dictionary:
    """A ``bands x atoms`` :class:`~deq.operators.dictionary.Dictionary` whose atoms a K-SVD weight file fills
    (``deq.core.weights.load_weights(path)``; ``deq train hsi-dictionary`` writes them); built alone it holds
    :func:`random_dictionary` atoms."""
    return Dictionary(random_dictionary(bands, atoms))


def training_spectra(cubes: list[Tensor], count: int, seed: int) -> np.ndarray:
    """``count`` spectra ``(d, count)`` drawn without replacement from the pixels of ``cubes`` ``[d, H, W]``."""
    pixels = np.concatenate([c.reshape(c.shape[0], -1).numpy() for c in cubes], 1).astype(np.float64)
    if count > pixels.shape[1]:
        raise ValueError(f"--signals {count} exceeds the {pixels.shape[1]} training pixels")
    rng = np.random.default_rng(seed)
    return pixels[:, rng.choice(pixels.shape[1], count, replace=False)]


def main(argv: list[str] | None = None) -> int:
    """Learn a K-SVD dictionary on a fold's clean training spectra (``deq train hsi-dictionary``)."""
    from deq.models.hsi.data import BANDS, SCENES, Fold
    from deq.models.hsi.ksvd import ksvd

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="deq train hsi-dictionary", description=__doc__.split("\n\n")[0])
    p.add_argument("--held-out", required=True, choices=sorted(SCENES), help="the test scene, left out of the training")
    p.add_argument("--out", required=True, help="run folder: weights.pt (+ .json) are written here")
    p.add_argument("--atoms", type=int, default=512, help="dictionary atoms M (paper: 512)")
    p.add_argument("--sparsity", type=int, default=4, help="atoms per training spectrum in K-SVD's OMP step")
    p.add_argument("--iterations", type=int, default=15, help="K-SVD iterations")
    p.add_argument("--signals", type=int, default=6000, help="training spectra drawn from the training rows")
    p.add_argument("--seed", type=int, default=0, help="seed of the spectra drawn and of the initial atoms")
    p.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA, then ../shared/data)")
    args = p.parse_args(argv)
    fold = Fold(args.held_out)
    t0 = time.perf_counter()
    spectra = training_spectra(fold.training_cubes(args.data_dir), args.signals, args.seed)
    result = ksvd(
        spectra,
        args.atoms,
        args.sparsity,
        args.iterations,
        seed=args.seed,
        callback=lambda it, err: print(f"K-SVD iteration {it + 1}/{args.iterations}: rmse {err:.5f}", flush=True),
    )
    seconds = time.perf_counter() - t0
    op = ksvd_dictionary(BANDS, args.atoms)
    op.D.copy_(torch.from_numpy(result.dictionary))
    provenance = make_provenance(
        script="deq train hsi-dictionary",
        command=" ".join(["deq", "train", "hsi-dictionary", *argv]),
        data=f"{args.signals} random clean spectra of the training rows of {fold.note(args.data_dir)}",
        steps=args.iterations,
        seed=args.seed,
        device="cpu (numpy, scikit-learn)",
        wall_seconds=seconds,
        validation={"rmse_per_iteration": [round(e, 6) for e in result.rmse]},
        algorithm=f"K-SVD (exact rank-one atom updates), batch OMP with {args.sparsity} atoms per spectrum",
        replaced_atoms_per_iteration=list(result.replaced),
        held_out=args.held_out,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = save_weights(
        op, out / "weights.pt", kind="operator", name=NAME, config={"bands": BANDS, "atoms": args.atoms}, provenance=provenance
    )
    print(json.dumps({"weights": str(path), "rmse": result.rmse[-1], "seconds": round(seconds, 1)}))
    return 0
