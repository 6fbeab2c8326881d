"""Published checkpoints imported into deq's classes (deq.priors.published): the imported networks equal a
functional re-implementation of the authors' forward pass on the raw state dict, reproduce their published test
figures on BSD68 (fixed noise seed 0), and wrong or broken files get clear errors. Skipped when
../shared/data/weights is absent."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deq.core.errors import WeightsError
from deq.core.images import load_images
from deq.core.metrics import psnr
from deq.priors.published import import_checkpoint, load_denoiser

IPOL = "module.intermediate_dncnn.itermediate_dncnn."


def _ipol_reference(state: dict, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The IPOL FFDNet forward written from its published description: sub-images in IPOL's order (position-major
    per channel), C noise maps *first*, conv (no bias) / BN / ReLU, pixel re-assembly, ``x - noise``."""
    c = x.shape[1]
    subs = torch.zeros(x.shape[0], 4 * c, x.shape[2] // 2, x.shape[3] // 2, dtype=x.dtype)
    for idx, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        subs[:, idx::4] = x[:, :, i::2, j::2]
    h = torch.cat([torch.full((x.shape[0], c, *subs.shape[2:]), sigma, dtype=x.dtype), subs], 1)
    layers = sorted({int(k[len(IPOL) :].split(".")[0]) for k in state})
    for n, i in enumerate(layers):
        w = state[f"{IPOL}{i}.weight"]
        if w.dim() == 4:
            h = F.conv2d(h, w, padding=1)
            if n == len(layers) - 1:
                break
            if f"{IPOL}{i + 1}.running_mean" not in state:
                h = F.relu(h)
        else:
            h = F.relu(
                F.batch_norm(h, state[f"{IPOL}{i}.running_mean"], state[f"{IPOL}{i}.running_var"], w, state[f"{IPOL}{i}.bias"])
            )
    noise = torch.zeros_like(x)
    for idx, (i, j) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        noise[:, :, i::2, j::2] = h[:, idx::4]
    return x - noise


@pytest.mark.parametrize("name, channels", [("net_gray.pth", 1), ("net_rgb.pth", 3)])
def test_imported_ffdnet_equals_the_authors_forward(shared_data, name, channels):
    path = shared_data(f"weights/ffdnet_ipol/{name}")
    state = torch.load(path, weights_only=True, map_location="cpu")
    model = import_checkpoint(path, arch="ffdnet-ipol").double()
    x = torch.rand(2, channels, 24, 20, dtype=torch.float64)
    ref = _ipol_reference({k: v.double() for k, v in state.items()}, x, 25 / 255)
    with torch.no_grad():
        assert torch.allclose(model(x, 25 / 255), ref, atol=1e-10)


def _bsd68_psnr(shared_data, model, level: float, **kwargs) -> float:
    """Mean PSNR over BSD68 with AWGN of ``level``/255 (noise seed 0); ``kwargs`` go to the model."""
    images = load_images(shared_data("natural/BSD68"), channels=1)
    g = torch.Generator().manual_seed(0)
    scores = []
    for im in images:
        noisy = im + level / 255 * torch.randn(im.shape, generator=g)
        with torch.no_grad():
            scores.append(float(psnr(model(noisy[None], **kwargs).clamp(0, 1), im[None])))
    return sum(scores) / len(scores)


@pytest.mark.parametrize("sigma, published", [(15, 31.63), (25, 29.19), (50, 26.29)])
def test_imported_ffdnet_reproduces_its_published_bsd68_figures(shared_data, sigma, published):
    """FFDNet paper, gray BSD68: 31.63 / 29.19 / 26.29 dB. Measured (seed 0): 31.63 / 29.19 / 26.30."""
    model = import_checkpoint(shared_data("weights/ffdnet_ipol/net_gray.pth"))
    assert abs(_bsd68_psnr(shared_data, model, sigma, sigma=sigma / 255) - published) < 0.1


def test_imported_dncnn_reproduces_its_published_bsd68_figure(shared_data):
    """DnCNN-S sigma 25 on BSD68: 29.23 dB (Zhang et al. 2017, Table 2). Measured (seed 0): 29.23."""
    model = import_checkpoint(shared_data("weights/kair/dncnn_25.pth"), arch="dncnn-kair")
    assert abs(_bsd68_psnr(shared_data, model, 25) - 29.23) < 0.1


def test_wrong_architecture_and_broken_files_are_clear_errors(shared_data, tmp_path):
    gray = shared_data("weights/ffdnet_ipol/net_gray.pth")
    with pytest.raises(WeightsError, match=r"is not a dncnn-kair checkpoint \(its keys look like ffdnet-ipol"):
        import_checkpoint(gray, arch="dncnn-kair")
    with pytest.raises(WeightsError, match="unknown published architecture 'unet'"):
        import_checkpoint(gray, arch="unet")
    (tmp_path / "cut.pth").write_bytes(gray.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="could not be read"):
        import_checkpoint(tmp_path / "cut.pth")
    state = torch.load(gray, weights_only=True, map_location="cpu")
    state.pop(f"{IPOL}5.weight")
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(WeightsError, match="does not fit a ffdnet-ipol network"):
        import_checkpoint(tmp_path / "missing.pth")
    assert load_denoiser(gray).provenance["arch"] == "ffdnet-ipol"
