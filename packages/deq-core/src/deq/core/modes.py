"""Temporarily switching a module's training mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block ``module`` is in evaluation mode; its previous mode (training or not) is restored after,
    also when the block raises. Yields the module."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
