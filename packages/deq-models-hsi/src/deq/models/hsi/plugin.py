"""deq-models-hsi's plugin: registers the hyperspectral sparse-coding models, the K-SVD dictionary operator and the
commands ``deq train hsi``, ``deq train hsi-dictionary``, ``deq bench hsi`` and ``deq reconstruct hsi``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_models() -> Mapping[str, Any]:
    from deq.models.hsi import baselines, factories

    return {
        "du-full-sc": factories.du_full_sc,
        "deq-full-sc": factories.deq_full_sc,
        "du-fast-sc": factories.du_fast_sc,
        "deq-fast-sc": factories.deq_fast_sc,
        "batch-omp-sc": baselines.batch_omp_sc,
        "lasso-sc": baselines.lasso_sc,
    }


@hookimpl
def deq_operators() -> Mapping[str, Any]:
    from deq.models.hsi.dictionary import NAME, ksvd_dictionary

    return {NAME: ksvd_dictionary}


@hookimpl
def deq_train_recipes() -> Mapping[str, Any]:
    from deq.models.hsi.dictionary import main as dictionary_main
    from deq.models.hsi.train import main

    return {"hsi": main, "hsi-dictionary": dictionary_main}


@hookimpl
def deq_benchs() -> Mapping[str, Any]:
    from deq.models.hsi.bench import main

    return {"hsi": main}


@hookimpl
def deq_reconstruct_problems() -> Mapping[str, Any]:
    from deq.models.hsi.cli import main

    return {"hsi": main}
