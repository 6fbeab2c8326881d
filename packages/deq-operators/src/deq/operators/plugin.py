"""deq-operators' plugin: registers every operator (and the operator benchmark) with deq-core's registry.

Operators whose back-end is an optional extra are registered through small factories that import their
module only when called, so ``deq list`` works without sigpy/ODL and building one names the pip command.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deq.core.hookspecs import hookimpl


@hookimpl
def deq_operators() -> Mapping[str, Any]:
    from deq.operators.sci import CACTI

    return {"cacti": CACTI}
