"""Our DnCNN against DeepInverse's implementation (reference), with the same weights."""

from __future__ import annotations

import pytest
import torch

from deq.priors.dncnn import DnCNN


def test_dncnn_matches_deepinv(benchmark_script):
    pytest.importorskip("deepinv", reason="DeepInverse (a test-only peer) is not installed here; tox -e all runs this comparison")
    deepinv_dncnn_like = benchmark_script("priors").deepinv_dncnn_like

    ours = DnCNN(depth=5, width=8, batch_norm=False, bias=True).double().eval()
    theirs = deepinv_dncnn_like(ours)
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x, 0.1), atol=1e-12)
