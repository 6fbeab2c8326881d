"""deq-priors benchmark, ``python benchmarks/priors.py`` (or ``nox -s bench -- priors``): CPU denoising
throughput (images/s, 256x256 grayscale, batch 8) and peak tensor memory of every registered prior, the same
DnCNN forward against DeepInverse's DnCNN (a peer, installed by ``nox -s bench``, never a dependency of deq),
the test PSNR of deq-priors' shipped weights (from their provenance) beside DnCNN-S (Zhang et al. 2017), and BM3D
plus the published FFDNet / DnCNN-S measured on the same noisy images as deq's weights. Writes the ``priors``,
``priors-weights`` and ``priors-reference`` sections of docs/benchmarks.md (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from deq.core.bench import markdown_table, median_time, peak_memory, write_section
from deq.core.registry import create
from deq.priors.weights import WEIGHTS_DIR, available, load_pretrained

COMMAND = "python benchmarks/priors.py"
#: the results file this script writes by default: the docs of the checkout it belongs to
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

#: (registered name, options, input shape) — 2-D priors on [8, 1, 256, 256], video priors on [8, 1, 8, 256, 256]
CASES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("dncnn", {}, (8, 1, 256, 256)),
    ("ffdnet", {"depth": 12, "width": 48}, (8, 1, 256, 256)),
    ("unet", {}, (8, 1, 256, 256)),
    ("cnn", {}, (8, 1, 256, 256)),
    ("rsn-cnn", {}, (8, 1, 256, 256)),
    ("rsn-unet", {}, (8, 1, 256, 256)),
    ("shallow-eq", {}, (8, 1, 256, 256)),
    ("tv", {"weight": 0.1}, (8, 1, 256, 256)),
    ("soft-threshold", {}, (8, 1, 256, 256)),
    ("wavelet", {}, (8, 1, 256, 256)),
    ("unet3d", {"base": 16, "levels": 2}, (1, 1, 8, 256, 256)),
    ("hsi-cnn", {}, (1, 31, 256, 256)),
]


def throughput_table(repeats: int) -> str:
    """Images/s and peak tensor memory of every prior in :data:`CASES` (forward, no grad, eval mode)."""
    rows = []
    for name, options, shape in CASES:
        model = create("prior", name, **options).eval()
        x = torch.rand(shape)
        sigma = 25 / 255
        with torch.no_grad():
            fn = lambda: model(x, sigma)  # noqa: E731
            t = median_time(fn, repeats=repeats, warmup=1)
            mem = peak_memory(fn)
        params = sum(p.numel() for p in model.parameters())
        n_images = shape[0] * (shape[2] if len(shape) == 5 else 1)
        rows.append(
            [
                name,
                json.dumps(options) if options else "defaults",
                "x".join(map(str, shape)),
                params,
                round(n_images / t, 2),
                round(mem / 2**20, 1),
            ]
        )
    return markdown_table(["prior", "options", "input", "parameters", "images/s", "peak tensor MiB"], rows)


def layout_table(repeats: int) -> str:
    """The same 2-D priors with channels-last weights (deq's default, ``ConvPrior``) and with contiguous ones,
    timed alternately in one run on ``[8, 1, 256, 256]``: the measurement behind the default."""
    rows = []
    x = torch.rand(8, 1, 256, 256)
    for name, options in (("dncnn", {}), ("ffdnet", {"depth": 15, "width": 64}), ("cnn", {"depth": 6, "width": 32})):
        model = create("prior", name, **options).eval()
        times: dict[str, list[float]] = {"channels_last": [], "contiguous": []}
        with torch.no_grad():
            for _ in range(repeats):
                for layout, fmt in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format)):
                    model.to(memory_format=fmt)
                    times[layout].append(median_time(lambda: model(x, 25 / 255), repeats=1, warmup=1))
        cl, cont = sorted(times["channels_last"])[repeats // 2], sorted(times["contiguous"])[repeats // 2]
        rows.append([name, json.dumps(options), round(8 / cl, 2), round(8 / cont, 2), f"{cont / cl:.2f}x"])
    return markdown_table(["prior", "options", "images/s channels-last", "images/s contiguous", "speed-up"], rows)


def deepinv_dncnn_like(ours: torch.nn.Module) -> torch.nn.Module:
    """DeepInverse's DnCNN holding the same weights as our bias-on, BN-off, residual ``DnCNN`` ``ours``.

    DeepInverse's convs are ``in_conv, conv_list[...], out_conv`` and it returns ``x + out_conv(...)``
    where ours returns ``x - body(x)``, so its last conv gets the negated weights.
    """
    import deepinv

    convs = [m for m in ours.body if isinstance(m, torch.nn.Conv2d)]
    theirs = deepinv.models.DnCNN(
        in_channels=ours.in_channels, out_channels=ours.in_channels, depth=len(convs), nf=convs[0].out_channels, pretrained=None
    ).eval()
    with torch.no_grad():
        for i, (a, b) in enumerate(zip(convs, [theirs.in_conv, *theirs.conv_list, theirs.out_conv], strict=True)):
            sign = -1.0 if i == len(convs) - 1 else 1.0
            b.weight.copy_(sign * a.weight)
            b.bias.copy_(sign * a.bias)
    return theirs.to(convs[0].weight.dtype)


def deepinv_table(repeats: int) -> str:
    """Throughput of our DnCNN and DeepInverse's holding the same weights, and the largest output difference."""
    try:
        import deepinv
    except ImportError:
        return "DeepInverse is not installed: `pip install deepinv==0.5.0` to run the DnCNN comparison."
    from deq.priors.dncnn import DnCNN

    ours = DnCNN(depth=20, width=64, batch_norm=False, bias=True).eval()
    theirs = deepinv_dncnn_like(ours)
    x = torch.rand(8, 1, 256, 256)
    with torch.no_grad():
        diff = float((ours(x) - theirs(x, 25 / 255)).abs().max())
        t_ours = median_time(lambda: ours(x), repeats=repeats)
        t_theirs = median_time(lambda: theirs(x, 25 / 255), repeats=repeats)
    rows = [["deq.priors DnCNN", round(8 / t_ours, 2)], [f"deepinv {deepinv.__version__} DnCNN", round(8 / t_theirs, 2)]]
    table = markdown_table(["implementation (20 layers, 64 ch, bias, no BN, residual)", "images/s"], rows)
    return (
        f"{table}\n\nSame weights, max |difference| of outputs = {diff:.2e}; "
        f"ratio ours / deepinv = {t_theirs / t_ours:.3f} (throughput)."
    )


#: DnCNN-S on BSD68 at sigma 15, 25, 50 (Zhang et al. 2017, Table 2)
DNCNN_BSD68 = (31.73, 29.23, 26.23)
#: BM3D on BSD68 at sigma 15, 25, 50 (Dabov et al. 2007, as reported in Zhang et al. 2017, Table 2)
BM3D_BSD68 = (31.07, 28.57, 25.62)


def _provenance(name: str) -> dict[str, Any]:
    return json.loads((WEIGHTS_DIR / f"{name}.json").read_text())


def weights_table() -> str:
    """Test PSNR of every shipped weight file (from its provenance, deq-core's training harness format) beside
    DnCNN-S and BM3D on BSD68."""
    rows = []
    for name in available():
        test = _provenance(name)["provenance"]["metrics"]["test"]
        for set_name, scores in test.items():
            if isinstance(scores, dict):
                rows.append([name, set_name, *(scores.get(s, "-") for s in ("15", "25", "50"))])
    rows.append(["DnCNN-S (Zhang et al. 2017, Table 2)", "BSD68", *DNCNN_BSD68])
    rows.append(["BM3D (ibid.)", "BSD68", *BM3D_BSD68])
    return markdown_table(["weights", "test set", "sigma 15", "sigma 25", "sigma 50"], rows)


def weights_provenance() -> str:
    """Per shipped weight file: model, size, every training phase (oldest first: each ``--init`` phase keeps the
    weights file it started from under ``init``, with its provenance) with its steps, time and command; the gaps
    to DnCNN-S and BM3D on BSD68."""
    lines = []
    for name in available():
        file = _provenance(name)
        meta, metrics = file["provenance"], file["provenance"]["metrics"]
        params = sum(p.numel() for p in load_pretrained(name).parameters())
        validation = {k: round(v, 2) for k, v in metrics["validation"].items()}
        chain, p = [], meta
        while p:
            chain.append(p)
            p = (p.get("init") or {}).get("provenance") or {}
        lines.append(
            f"- `{name}`: {file['name']} {json.dumps(file['config'])}, {params:,} parameters; "
            f"{sum(p['steps'] for p in chain):,} steps in {sum(p['wall_seconds'] for p in chain) / 60:.1f} min of training "
            f"in all; final validation {json.dumps(validation)} dB; data: {meta['data']}. Phases, oldest first:"
        )
        for p in chain[::-1]:
            lines.append(f"  - {p['steps']:,} steps, {p['wall_seconds'] / 60:.1f} min on {p['device']}: `{p['command']}`")
        bsd = metrics["test"].get("BSD68", {})
        for label, ref in (("DnCNN-S", DNCNN_BSD68), ("BM3D", BM3D_BSD68)):
            gaps = [f"{bsd[s] - r:+.2f}" for s, r in zip(("15", "25", "50"), ref, strict=True) if s in bsd]
            if gaps:
                lines.append(f"- `{name}` minus {label} (published) on BSD68, sigma 15/25/50: {' / '.join(gaps)} dB.")
    return "\n".join(lines)


class BM3D(torch.nn.Module):
    """BM3D (Dabov et al. 2007; the ``bm3d`` package, a benchmark-only dependency) as a ``D(x, sigma)`` on
    ``[1, 1, H, W]``, so it is measured by the same code, on the same noisy images, as deq's denoisers."""

    def forward(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        import bm3d

        out = bm3d.bm3d(x[0, 0].double().numpy(), sigma_psd=float(sigma))
        return torch.from_numpy(out).to(x.dtype)[None, None]


def reference_table(data_dir: str | None, sets: tuple[str, ...], sigmas: tuple[int, ...], bm3d_sets: tuple[str, ...]) -> str:
    """PSNR on the grayscale test ``sets`` (colour sets as luminance) of BM3D (on ``bm3d_sets`` only: about 10 s
    per image and level on this 2-core machine), the published IPOL FFDNet and KAIR DnCNN-S (imported by deq, read from the
    data folder, never shipped) and deq's shipped ffdnet-gray, all on the same noisy images (AWGN, seed 1234, the
    protocol of the shipped weights' test PSNR), beside the published figures."""
    from deq.core.data import find_data
    from deq.core.images import image_files, load_images, read_image
    from deq.priors.published import import_checkpoint
    from deq.priors.train import denoising_psnr

    published = {"BM3D": BM3D_BSD68, "FFDNet": (31.63, 29.19, 26.29), "DnCNN-S": DNCNN_BSD68}
    models: dict[str, tuple[torch.nn.Module, tuple[int, ...]]] = {"BM3D (bm3d package)": (BM3D(), sigmas)}
    for label, rel, only in (
        ("FFDNet, IPOL weights (imported)", "weights/ffdnet_ipol/net_gray.pth", sigmas),
        ("DnCNN-S sigma 25, KAIR weights (imported)", "weights/kair/dncnn_25.pth", (25,)),
    ):
        try:
            models[label] = (import_checkpoint(find_data(rel, data_dir)), only)
        except FileNotFoundError:
            print(f"skipped {label}: {rel} is not under the data root")
    models["deq ffdnet-gray (shipped)"] = (load_pretrained("ffdnet-gray"), sigmas)
    rows = []
    for set_name in sets:
        folder = find_data(f"natural/{set_name}", data_dir)
        images = load_images(folder, channels=1)
        colour = read_image(image_files(folder)[0]).shape[0] == 3
        shown = f"{set_name} (luminance)" if colour else set_name
        for label, (model, levels) in models.items():
            if isinstance(model, BM3D) and set_name not in bm3d_sets:
                continue
            scores = []
            for s in sigmas:
                scores.append(f"{denoising_psnr(model, images, s / 255, torch.device('cpu')):.2f}" if s in levels else "-")
                print(f"  {set_name} {label} sigma {s}: {scores[-1]}", flush=True)
            rows.append([shown, label, *scores])
    for label, values in published.items():
        rows.append(["BSD68 (published)", label, *(f"{v:.2f}" for s, v in zip((15, 25, 50), values) if s in sigmas)])
    return markdown_table(["test set", "denoiser", *(f"sigma {s}" for s in sigmas)], rows)


def main(argv: list[str] | None = None) -> int:
    """Denoising throughput/memory of every prior, DnCNN vs DeepInverse, shipped-weights PSNR -> the results file."""
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument(
        "--part",
        choices=("all", "throughput", "weights", "reference"),
        default="all",
        help="throughput + DeepInverse comparison (section 'priors'), shipped-weights PSNR (section 'priors-weights'), or both",
    )
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    p.add_argument("--data-dir", default=None, help="benchmark data root (default: DEQ_DATA, then ../shared/data)")
    p.add_argument("--no-write", action="store_true", help="print the sections only")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cmd = f"{COMMAND} --repeats {args.repeats} --threads {args.threads}"
    env = f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)"
    if args.part in ("all", "throughput"):
        body = "\n\n".join(
            [
                "## deq-priors: throughput",
                f"Command: `{cmd} --part throughput` ({env}; a 2-core machine shared with other jobs, so timings are noisy).",
                "### Denoising throughput and peak memory (forward, no grad, eval mode)",
                throughput_table(args.repeats),
                "### Weight memory layout: channels-last (the default) vs contiguous, alternating runs",
                layout_table(args.repeats),
                "### Same DnCNN forward: deq.priors vs DeepInverse",
                deepinv_table(args.repeats),
            ]
        )
        print(body)
        if not args.no_write:
            print(f"wrote section 'priors' of {write_section('priors', body, args.out)}")
    if args.part in ("all", "weights"):
        body = "\n\n".join(
            [
                "## deq-priors: shipped weights",
                f"Command: `{cmd} --part weights` (reads the provenance in the shipped weight files; the training "
                "command, cost and data are in `packages/deq-priors/src/deq/priors/weights/*.json`).",
                "Test PSNR (dB), AWGN with a fixed seed, outputs clipped to [0, 1]:",
                weights_table(),
                weights_provenance(),
            ]
        )
        print(body)
        if not args.no_write:
            print(f"wrote section 'priors-weights' of {write_section('priors-weights', body, args.out)}")
    if args.part in ("all", "reference"):
        body = "\n\n".join(
            [
                "## deq-priors: reference denoisers on the same noisy images",
                f"Command: `{cmd} --part reference` (BM3D from the `bm3d` package; the published FFDNet and DnCNN-S read "
                "from the data folder through `deq.priors.import_checkpoint`, never shipped). PSNR (dB), AWGN drawn with "
                "seed 1234 in image order (the shipped weights' test protocol), outputs clipped to [0, 1]. CBSD68 (luminance) "
                "is the colour originals of BSD68 converted to luma (ITU-R 601, Pillow's 'L'); BM3D, about 10 s per image and "
                "level on this 2-core machine, is measured on BSD68 and Set12 only:",
                reference_table(args.data_dir, ("BSD68", "CBSD68", "Set12"), (15, 25, 50), bm3d_sets=("BSD68", "Set12")),
            ]
        )
        print(body)
        if not args.no_write:
            print(f"wrote section 'priors-reference' of {write_section('priors-reference', body, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
