"""Keeping an equilibrium map the same map during one solve.

A fixed-point solve assumes ``f`` does not change between its iterations. Three things in common networks
change it:

* batch normalisation in training mode normalises each call by the statistics of its own input (and updates
  the running statistics), so ``f(z)`` depends on the other samples and on the iteration;
* Miyato spectral normalisation (``torch.nn.utils.parametrizations.spectral_norm``) takes a power-iteration
  step on every access of the weight in training mode;
* deq-priors' real spectral normalisation does the same with the convolution's operator norm.

:func:`solve_scope` fixes all three for the duration of a ``with`` block: batch-norm layers run on their
running statistics (eval mode, restored afterwards: the deq policy for BN inside an equilibrium map is
"frozen statistics", learned before the equilibrium training), torch parametrizations are cached
(``torch.nn.utils.parametrize.cached``) after being computed once *with* their graph, and every sub-module
that defines ``solve_scope()`` (a context manager; the protocol for third-party layers) enters it. Gradients
still reach the weights through the cached tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn
from torch.nn.utils import parametrize


@contextmanager
def frozen_batchnorm(module: nn.Module) -> Iterator[None]:
    """Within the block, every batch-norm layer of ``module`` in training mode runs on its running statistics and
    leaves them unchanged (eval mode; its affine weights still train); training mode is restored afterwards."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
    for m in norms:
        m.eval()
    try:
        yield
    finally:
        for m in norms:
            m.train()


@contextmanager
def solve_scope(module: nn.Module, *, freeze_batchnorm: bool = True) -> Iterator[None]:
    """Within the block, ``module`` (and everything inside it) is one fixed map; see the module docstring."""
    scoped = [m for m in module.modules() if m is not module and callable(getattr(m, "solve_scope", None))]
    with ExitStack() as stack:
        if freeze_batchnorm:
            stack.enter_context(frozen_batchnorm(module))
        stack.enter_context(parametrize.cached())
        with torch.enable_grad():  # the first access may come from a no_grad solver iteration: keep the graph
            for m in module.modules():
                if parametrize.is_parametrized(m):
                    for name in m.parametrizations:
                        getattr(m, name)
        for m in scoped:
            stack.enter_context(m.solve_scope())
        yield
