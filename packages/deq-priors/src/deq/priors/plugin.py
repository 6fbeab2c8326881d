"""deq-priors' plugin: registers its priors and the denoiser training recipe ``deq train priors`` (the
benchmarks of the priors are ``benchmarks/priors.py`` in the repository)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_priors() -> Mapping[str, Any]:
    from deq.priors.classical import SoftThreshold, WaveletSoftThreshold
    from deq.priors.cnn import CNN, HSICNN, RSNCNN
    from deq.priors.dncnn import DnCNN
    from deq.priors.ffdnet import FFDNet
    from deq.priors.shallow_eq import ShallowEquilibrium
    from deq.priors.tv import TVDenoiser
    from deq.priors.unet import RSNUNet, UNet, UNet3D

    return {
        "dncnn": DnCNN,
        "ffdnet": FFDNet,
        "unet": UNet,
        "unet3d": UNet3D,
        "cnn": CNN,
        "rsn-cnn": RSNCNN,
        "rsn-unet": RSNUNet,
        "hsi-cnn": HSICNN,
        "shallow-eq": ShallowEquilibrium,
        "tv": TVDenoiser,
        "soft-threshold": SoftThreshold,
        "wavelet": WaveletSoftThreshold,
    }


@hookimpl
def deq_train_recipes() -> Mapping[str, Any]:
    from deq.priors.train import main

    return {"priors": main}
