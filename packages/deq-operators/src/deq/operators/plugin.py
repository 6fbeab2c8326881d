"""deq-operators' plugin: registers every operator with deq-core's registry (the comparison with DeepInverse
is a repository benchmark, ``benchmarks/operators.py``, not part of the package).

Importing the operator modules never imports sigpy or ODL (they are imported when an NUFFT/CT operator is
built), so ``deq list`` works without the extras and building one without them names the pip command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_operators() -> Mapping[str, Any]:
    from deq import operators as ops

    return {
        "cacti": ops.CACTI,
        "mri-cartesian": ops.CartesianMRI,
        "mri-nufft": ops.NUFFTMRI,
        "ct-parallel": ops.ParallelBeamCT,
        "ct-parallel-sparse": ops.SparseParallelBeamCT,
        "super-resolution": ops.SuperResolution,
        "blur": ops.Blur,
        "dictionary": ops.Dictionary,
        "dictionary-support": ops.SupportDictionary,
        "inpainting": ops.Inpainting,
        "denoising": ops.Denoising,
    }
