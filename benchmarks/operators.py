"""deq-operators against DeepInverse's physics, side by side in one process: ``python benchmarks/operators.py``
(or ``nox -s bench -- operators``), which writes the ``operators`` section of docs/benchmarks.md.

Same inputs for both libraries, float32, one CPU thread for both (``torch.set_num_threads``), runs of the
libraries interleaved so that load from other jobs hits them alike; each number is the median of ``--repeats``
runs after one warm-up.

1. Fourier-domain operators, batch 8, 256x256: Cartesian MRI (4x column mask, real 2-channel layout, centred
   k-space as in DeepInverse), FFT blur (9x9 Gaussian, variance 5, 3 channels), super-resolution x2/x4 (circular,
   7x7 Gaussian, 3 channels). Wall time of ``A`` followed by ``A^H`` (forward+adjoint) and of the closed-form
   ``prox_l2``, and the relative difference of the two libraries' outputs.
2. Parallel-beam CT, 200 views, batch 8, 128x128 (LUSER's size) and 256x256: ours as the cached sparse matrix
   (``SparseParallelBeamCT``) and through ODL/astra (``ParallelBeamCT``), DeepInverse's torch Radon transform
   (``Tomography``); forward+adjoint and ``prox_l2`` by 10 conjugate-gradient steps in all three (none has a
   closed form). DeepInverse's sinogram is ``[B, 1, det, angles]`` from another projector with another scaling,
   so only our two paths are compared for agreement.

DeepInverse is a peer, not a dependency: ``pip install deepinv==0.5.0`` (``nox -s bench`` installs it); the CT
rows also need the extra ``deq-operators[ct]`` (ODL, astra) for the ODL path and to build the sparse matrices
(cached in ``$DEQ_CACHE`` or ``~/.cache/deq`` after the first run).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from deq.core.bench import markdown_table, write_section

COMMAND = "python benchmarks/operators.py"
#: the results file this script writes by default: the docs of the checkout it belongs to
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def time_interleaved(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time (s) of each function over ``repeats`` rounds, each round running every function once
    in turn (one warm-up round first)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _rel(a: torch.Tensor, b: torch.Tensor) -> str:
    return f"{float((a - b).norm() / b.norm()):.1e}"


def fourier_rows(batch: int, size: int, repeats: int) -> list[list[object]]:
    """Rows of the Fourier-operator table (ours vs DeepInverse)."""
    import deepinv as dinv

    from deq.operators import Blur, CartesianMRI, SuperResolution, column_mask, gaussian_kernel

    g = torch.Generator().manual_seed(0)
    mask = column_mask((size, size), 4, centered=True)
    blur_k, sr_k = gaussian_kernel(9, 5**0.5), gaussian_kernel(7, 1.6)
    cases = [
        (
            "Cartesian MRI 4x",
            CartesianMRI(mask, representation="real2", centered=True),
            dinv.physics.MRI(mask=mask, img_size=(size, size)),
            2,
        ),
        ("FFT blur 9x9", Blur(blur_k), dinv.physics.BlurFFT(img_size=(3, size, size), filter=blur_k[None, None]), 3),
    ]
    for factor in (2, 4):
        theirs = dinv.physics.Downsampling(img_size=(3, size, size), filter=sr_k[None, None], factor=factor, padding="circular")
        cases.append((f"super-resolution x{factor}", SuperResolution(sr_k, factor), theirs, 3))
    rows = []
    for name, ours, theirs, channels in cases:
        x = torch.rand(batch, channels, size, size, generator=g)
        z, gamma = x.flip(-1), 0.5
        y_ours, y_theirs = ours(x), theirs.A(x)
        fa = time_interleaved([lambda: ours.adjoint(ours(x)), lambda: theirs.A_adjoint(theirs.A(x))], repeats)
        px = time_interleaved([lambda: ours.prox_l2(z, y_ours, gamma), lambda: theirs.prox_l2(z, y_theirs, gamma)], repeats)
        rows.append(
            [
                name,
                f"{1e3 * fa[0]:.1f}",
                f"{1e3 * fa[1]:.1f}",
                f"{fa[0] / fa[1]:.2f}",
                f"{1e3 * px[0]:.1f}",
                f"{1e3 * px[1]:.1f}",
                f"{px[0] / px[1]:.2f}",
                _rel(y_ours, y_theirs),
                _rel(ours.prox_l2(z, y_ours, gamma), theirs.prox_l2(z, y_theirs, gamma)),
            ]
        )
        print(" | ".join(str(v) for v in rows[-1]), flush=True)
    return rows


def ct_rows(batch: int, sizes: Sequence[int], views: int, repeats: int, prox_repeats: int, cg_steps: int) -> list[list[object]]:
    """Rows of the CT table: sparse matrix, ODL/astra and DeepInverse's Tomography."""
    import deepinv as dinv

    from deq.operators import ParallelBeamCT, SparseParallelBeamCT
    from deq.operators.ct_sparse import matrix_path

    g = torch.Generator().manual_seed(1)
    cg = {"tol": 1e-12, "max_iter": cg_steps}  # the tolerance is out of reach: every step runs
    rows = []
    for n in sizes:
        cached = matrix_path(n, views, ParallelBeamCT(n, views).det_size).exists()
        t0 = time.perf_counter()
        sparse = SparseParallelBeamCT(n, views)
        setup = f"{time.perf_counter() - t0:.1f} s ({'read from cache' if cached else 'built and cached'})"
        odl_op = ParallelBeamCT(n, views)
        theirs = dinv.physics.Tomography(angles=views, img_width=n, circle=False, normalize=False)
        ops = (sparse, odl_op)
        x = torch.rand(batch, 1, n, n, generator=g)
        z, gamma = x.flip(-1), 0.5
        ys = [op(x) for op in ops]
        y_theirs = theirs.A(x)
        fa = time_interleaved(
            [lambda: sparse.adjoint(sparse(x)), lambda: odl_op.adjoint(odl_op(x)), lambda: theirs.A_adjoint(theirs.A(x))],
            repeats,
        )
        px = time_interleaved(
            [
                lambda: sparse.prox_l2(z, ys[0], gamma, **cg),
                lambda: odl_op.prox_l2(z, ys[1], gamma, **cg),
                lambda: theirs.prox_l2(z, y_theirs, gamma, **cg),
            ],
            prox_repeats,
        )
        for what, t in (("forward+adjoint", fa), (f"prox ({cg_steps} CG steps)", px)):
            rows.append(
                [
                    f"{n}x{n}, {what}",
                    f"{1e3 * t[0]:.1f}",
                    f"{1e3 * t[1]:.1f}",
                    f"{1e3 * t[2]:.1f}",
                    f"{t[2] / t[0]:.1f}x",
                    f"{t[1] / t[0]:.1f}x",
                    _rel(ys[0], ys[1]) if what == "forward+adjoint" else "",
                    f"{sparse.values.numel() / 1e6:.1f} M weights, {setup}" if what == "forward+adjoint" else "",
                ]
            )
            print(" | ".join(str(v) for v in rows[-1]), flush=True)
    return rows


def section(args: argparse.Namespace, fourier: list[list[object]], ct: list[list[object]]) -> str:
    """The markdown of the ``operators`` section."""
    import deepinv

    options = f"--batch {args.batch} --size {args.size} --ct-sizes {' '.join(map(str, args.ct_sizes))} --repeats {args.repeats}"
    options += f" --ct-repeats {args.ct_repeats} --ct-prox-repeats {args.ct_prox_repeats}"
    fourier_header = [
        "operator",
        "fwd+adj ours (ms)",
        "fwd+adj DeepInverse (ms)",
        "ratio",
        "prox ours (ms)",
        "prox DeepInverse (ms)",
        "ratio",
        "rel. diff A x",
        "rel. diff prox",
    ]
    ct_header = [
        "CT, 200 views",
        "sparse matrix (ms)",
        "ODL/astra (ms)",
        "DeepInverse (ms)",
        "sparse vs DeepInverse",
        "sparse vs ODL",
        "rel. diff sparse vs ODL",
        "matrix",
    ]
    return (
        f"### Operators: deq-operators vs DeepInverse {deepinv.__version__}\n\n"
        f"Command: `{COMMAND} {options}` (torch {torch.__version__}, {torch.get_num_threads()} CPU thread for both "
        f"libraries, {platform.processor() or platform.machine()}, float32, batch {args.batch}; medians of "
        f"interleaved runs: {args.repeats} per Fourier operator, {args.ct_repeats} per CT forward+adjoint, "
        f"{args.ct_prox_repeats} per CT prox; ratio = ours / DeepInverse, below 1 is faster).\n\n"
        + markdown_table(fourier_header, fourier)
        + f"\n\nCT ({args.batch} images; `Nx` = how many times faster the sparse matrix is; ODL/astra loops over the "
        f"batch in Python):\n\n" + markdown_table(ct_header, ct)
    )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison, print it and write the ``operators`` section of the results file (``--out``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog=COMMAND, description="deq-operators against DeepInverse's physics.")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="image size of the Fourier operators")
    parser.add_argument("--ct-sizes", type=int, nargs="+", default=[128, 256], help="CT image sizes")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per library, Fourier operators (median)")
    parser.add_argument("--ct-repeats", type=int, default=5, help="timed runs of the CT forward+adjoint")
    parser.add_argument("--ct-prox-repeats", type=int, default=3, help="timed runs of the CT proxes (slow in DeepInverse)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (both libraries)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args(argv)
    try:
        import deepinv  # noqa: F401
    except ImportError:
        print(
            f"{COMMAND}: DeepInverse is not installed; it is the peer this benchmark compares against and is not a "
            "dependency of deq-operators. Install it with `pip install deepinv==0.5.0` (nox -s bench does).",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)
    fourier = fourier_rows(args.batch, args.size, args.repeats)
    ct = ct_rows(args.batch, args.ct_sizes, 200, args.ct_repeats, args.ct_prox_repeats, 10)
    text = section(args, fourier, ct)
    print(text)
    if not args.no_write:
        write_section("operators", text, args.out)
        print(f"wrote the operators section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
