"""``deq bench operators``: deq-operators against DeepInverse's physics, side by side in one process.

Same inputs for both libraries (float32, batch 8, 256x256 unless told otherwise, one CPU thread by
default): median wall time of ``A`` followed by ``A^H`` (forward+adjoint) and of ``prox_l2`` for Cartesian MRI
(4x column mask, real 2-channel layout, centred k-space as in DeepInverse), FFT blur (9x9 Gaussian, variance
5, 3 channels), super-resolution x2/x4 (circular, 7x7 Gaussian) and parallel-beam CT (200 views; ours:
ODL + astra_cpu, DeepInverse: its torch Radon transform; ``prox_l2`` by 10 CG steps in both, since neither has
a closed form). Runs of the two libraries are interleaved so that load from other jobs hits both alike.
The table also gives the relative difference between the two libraries' outputs (not for CT: DeepInverse's
sinogram is ``[B, 1, det, angles]``, from another projector with another scaling).

DeepInverse is a peer, not a dependency: ``pip install deepinv==0.5.0``; without it the benchmark stops with
that message.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from deq.core.bench import markdown_table, write_section

COMMAND = "deq bench operators"


def _time_pair(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each function, runs interleaved (one warm-up each)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _cases(batch: int, size: int, ct_size: int):
    """``(name, ours, theirs, x, prox_kwargs_ours, prox_kwargs_theirs)`` for each benchmarked operator."""
    import deepinv as dinv

    from deq.operators import Blur, CartesianMRI, ParallelBeamCT, SuperResolution, column_mask, gaussian_kernel

    g = torch.Generator().manual_seed(0)
    mask = column_mask((size, size), 4, centered=True)
    blur_k, sr_k = gaussian_kernel(9, 5**0.5), gaussian_kernel(7, 1.6)
    img = lambda c, s: torch.rand(batch, c, s, s, generator=g)  # noqa: E731
    yield (
        "Cartesian MRI 4x",
        CartesianMRI(mask, representation="real2", centered=True),
        dinv.physics.MRI(mask=mask, img_size=(size, size)),
        img(2, size),
        {},
        {},
    )
    yield (
        "FFT blur 9x9",
        Blur(blur_k),
        dinv.physics.BlurFFT(img_size=(3, size, size), filter=blur_k[None, None]),
        img(3, size),
        {},
        {},
    )
    for factor in (2, 4):
        yield (
            f"super-resolution x{factor}",
            SuperResolution(sr_k, factor),
            dinv.physics.Downsampling(img_size=(3, size, size), filter=sr_k[None, None], factor=factor, padding="circular"),
            img(3, size),
            {},
            {},
        )
    cg = {"tol": 1e-12, "max_iter": 10}
    yield (
        f"CT 200 views ({ct_size}x{ct_size})",
        ParallelBeamCT(ct_size, 200),
        dinv.physics.Tomography(angles=200, img_width=ct_size, circle=False),
        img(1, ct_size),
        cg,
        cg,
    )


def run(batch: int = 8, size: int = 256, ct_size: int = 256, repeats: int = 5) -> str:
    """Run the comparison and return the markdown section."""
    rows = []
    for name, ours, theirs, x, prox_ours, prox_theirs in _cases(batch, size, ct_size):
        y_ours, y_theirs = ours(x), theirs.A(x)
        comparable = y_ours.shape == y_theirs.shape  # CT: other layout, projector and scaling
        a_diff = f"{_rel(y_ours, y_theirs):.1e}" if comparable else "n/a"
        z, gamma = x.flip(-1), 0.5
        t_fa = _time_pair([lambda: ours.adjoint(ours(x)), lambda: theirs.A_adjoint(theirs.A(x))], repeats)
        t_px = _time_pair(
            [lambda: ours.prox_l2(z, y_ours, gamma, **prox_ours), lambda: theirs.prox_l2(z, y_theirs, gamma, **prox_theirs)],
            repeats,
        )
        px_ours, px_theirs = ours.prox_l2(z, y_ours, gamma, **prox_ours), theirs.prox_l2(z, y_theirs, gamma, **prox_theirs)
        px_diff = f"{_rel(px_ours, px_theirs):.1e}" if comparable else "n/a"
        rows.append(
            [
                name,
                1e3 * t_fa[0],
                1e3 * t_fa[1],
                f"{t_fa[0] / t_fa[1]:.2f}",
                1e3 * t_px[0],
                1e3 * t_px[1],
                f"{t_px[0] / t_px[1]:.2f}",
                a_diff,
                px_diff,
            ]
        )
    header = [
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
    import deepinv

    text = (
        f"### Operators: deq-operators vs DeepInverse {deepinv.__version__}\n\n"
        f"Command: `{COMMAND} --batch {batch} --size {size} --ct-size {ct_size} --repeats {repeats}` "
        f"(torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), float32, batch {batch}; "
        f"median of {repeats} interleaved runs; ratio = ours / DeepInverse, below 1 is faster).\n\n"
        + markdown_table(header, rows)
    )
    return text


def main(argv: list[str] | None = None) -> int:
    """CLI entry: ``deq bench operators [--batch B] [--size N] [--ct-size N] [--repeats R] [--threads T]
    [--output docs/benchmarks.md]``."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ct-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="docs/benchmarks.md")
    args = parser.parse_args(argv)
    try:
        import deepinv  # noqa: F401
    except ImportError:
        parser.exit(2, "deq bench operators compares against DeepInverse: pip install deepinv==0.5.0\n")
    torch.set_num_threads(args.threads)
    section = run(args.batch, args.size, args.ct_size, args.repeats)
    print(section)
    write_section("operators", section, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
