"""Optional back-ends: import them on demand, with an ImportError that names the pip command."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, owner: str) -> ModuleType:
    """Import ``module`` (a back-end of the optional extra ``extra``) or raise an ImportError saying how
    to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs the '{module}' package, part of the optional extra '{extra}': pip install \"deq-operators[{extra}]\""
        ) from exc
