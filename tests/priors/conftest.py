"""A registry holding only deq-core's and deq-priors' entry points, so these tests do not depend on
other distributions installed in the same environment."""

from __future__ import annotations

from importlib import metadata

import pytest
import torch

from deq.core.registry import Registry

# the tensors here are tiny: one thread avoids oversubscribing a shared CPU
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def registry() -> Registry:
    others = [ep.name for ep in metadata.entry_points(group="deq") if ep.name not in ("core", "priors")]
    reg = Registry()
    reg.load_entry_points(blocked=others)
    return reg


@pytest.fixture(autouse=True)
def _isolated_default_registry(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Name lookups inside deq-core (e.g. ``DEQ(solver="anderson")``) use the same isolated registry."""
    monkeypatch.setattr("deq.core.registry._default", registry)
