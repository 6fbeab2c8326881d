"""The four sparse-coding models: unrolled = the map iterated K times, equilibrium gradients = the unrolled
network's at convergence (float64), input checks, the dictionary, and the factories."""

from __future__ import annotations

import pytest
import torch

from deq.core.registry import create
from deq.models.hsi.models import FastSparseCoding, FullSparseCoding
from deq.operators.sci import CACTI
from deq.operators.simple import Denoising

TINY = {"bands": 5, "atoms": 12, "block": 4, "prior": {"depth": 2, "width": 4}}
EXACT = {"tol": 1e-12, "max_iter": 200, "backward_tol": 1e-12, "backward_max_iter": 200}


def _cube(shape=(2, 5, 8, 8), seed=0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", ["du-full-sc", "du-fast-sc"])
def test_unrolled_models_are_the_map_iterated_k_times(name):
    extra = {"support": 3} if "fast" in name else {}
    model = create("model", name, **TINY, **extra).double().eval()
    y, op = _cube(), Denoising()
    out, info = model(y, op)
    assert info is None and model.stages == 10
    stages = model.iterate(y, op, 10, return_all=True)
    assert len(stages) == 10 and torch.allclose(stages[-1], out) and not torch.allclose(stages[0], out)
    seen = []
    model.iterate(y, op, 3, callback=lambda k, x: seen.append(k))
    assert seen == [0, 1, 2]


def _gradients(model, y, target, unrolled: int | None):
    model.zero_grad()
    out = model.iterate(y, Denoising(), unrolled) if unrolled else model(y, Denoising())[0]
    (out - target).square().sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize(
    ("cls", "options"),
    [(FastSparseCoding, {"support": 2, "b": 0.3}), (FullSparseCoding, {"b": 0.3, "mu": 0.02})],
    ids=["fast", "full"],
)
def test_equilibrium_gradients_equal_the_converged_unrolled_network(cls, options):
    """The implicit gradient (eq. 24-26) against autograd through 150 iterations of the same map (float64); the full
    model uses a square dictionary, whose map is a contraction (no null space for the soft threshold to drift in)."""
    from deq.models.hsi.dictionary import random_dictionary
    from deq.models.hsi.factories import build_prior

    torch.manual_seed(0)
    atoms = 4 if cls is FullSparseCoding else 9
    model = cls(random_dictionary(4, atoms), build_prior(4, {"depth": 2, "width": 3}), block=3, solver=EXACT, **options)
    model = model.double().eval()  # eval: the spectral norms are fixed buffers, the same map in both passes
    y, target = _cube((1, 4, 3, 6), 1), _cube((1, 4, 3, 6), 2)
    model.reconstruct(y, Denoising())  # estimates those buffers once
    implicit = _gradients(model, y, target, None)
    unrolled = _gradients(model, y, target, 150)
    for name, g in implicit.items():
        assert torch.allclose(g, unrolled[name], rtol=1e-6, atol=1e-9), name


def test_models_check_their_input():
    model = create("model", "deq-fast-sc", **TINY, support=3)
    y = torch.rand(1, 5, 8, 8)
    with pytest.raises(TypeError, match="pass deq.operators.Denoising"):
        model.reconstruct(y, CACTI(torch.ones(2, 8, 8)))
    with pytest.raises(ValueError, match=r"expected noisy cubes \[B, 5, H, W\]"):
        model.reconstruct(torch.rand(1, 4, 8, 8), Denoising())
    with pytest.raises(ValueError, match="at least the block size 4"):
        model.reconstruct(torch.rand(1, 5, 3, 8), Denoising())
    with pytest.raises(ValueError, match="NaN/Inf"):
        model.reconstruct(torch.full((1, 5, 8, 8), float("nan")), Denoising())
    with pytest.raises(ValueError, match="expected D of shape"):
        model.set_dictionary(torch.rand(5, 13))


def test_set_dictionary_is_what_the_model_codes_with():
    model = create("model", "du-full-sc", **TINY).eval()
    D = torch.linalg.qr(torch.randn(12, 12))[0][:5]  # orthonormal rows
    model.set_dictionary(D)
    assert torch.equal(model.map.dictionary.D, D)
    fast = create("model", "du-fast-sc", **TINY, support=5).eval()
    fast.set_dictionary(D)
    y = torch.rand(1, 5, 4, 4)
    atoms = fast.problem(y)[2]
    assert torch.equal(atoms.D, D)


def test_factories_reject_architecture_options_with_pretrained_weights(tmp_path):
    with pytest.raises(ValueError, match=r"\['bands', 'prior'\] are fixed by the weight file"):
        create("model", "deq-full-sc", pretrained=True, bands=5, prior={"width": 4})
    with pytest.raises(ValueError, match="only read with pretrained=True"):
        create("model", "du-fast-sc", weights=str(tmp_path / "w.pt"))
    with pytest.raises(ValueError, match="support must be an integer between 1 and d = 5"):
        create("model", "du-fast-sc", **TINY, support=6)
    with pytest.raises(ValueError, match="support_method must be one of"):
        create("model", "deq-fast-sc", **TINY, support=3, support_method="cosamp")
