"""Plugin registry: discovers ``deq`` entry points with pluggy and indexes the components they provide.

Rules (see docs/plugins.md):

* every plugin, deq's own included, is a module named by an entry point in the group ``deq``;
* a plugin that fails to import is reported with a :class:`PluginLoadWarning` naming it and the error,
  and skipped; the others still load;
* two plugins that provide the same name for the same kind raise :class:`PluginConflictError` naming
  both distributions;
* plugins can be blocked by entry-point name with ``DEQ_BLOCK_PLUGINS=name1,name2``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from deq.core import hookspecs
from deq.core.hookspecs import KINDS, PROJECT

ENTRY_POINT_GROUP = "deq"


class PluginConflictError(RuntimeError):
    """Two plugins provide a component of the same kind under the same name."""


class PluginLoadWarning(UserWarning):
    """A plugin could not be imported or failed while listing its components; it was skipped."""


class UnknownComponentError(KeyError):
    """No installed plugin provides the requested component."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass(frozen=True)
class Component:
    """One registered component: what it is, the object, and who provided it."""

    name: str
    kind: str
    obj: Any
    plugin: str
    distribution: str

    @property
    def summary(self) -> str:
        """First line of the object's docstring (empty if none)."""
        doc = getattr(self.obj, "__doc__", None) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry:
    """A pluggy plugin manager plus an index ``(kind, name) -> Component``."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._distribution: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self._index: dict[str, dict[str, Component]] | None = None

    # -- plugin management -------------------------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP, blocked: Iterable[str] = ()) -> None:
        """Import and register every entry point of ``group`` except the ``blocked`` names."""
        blocked = set(blocked)
        for ep in metadata.entry_points(group=group):
            if ep.name in blocked:
                self.pm.set_blocked(ep.name)
                continue
            if self.pm.get_plugin(ep.name) is not None or self.pm.is_blocked(ep.name):
                continue
            dist = ep.dist.name if ep.dist is not None else "<unknown distribution>"
            try:
                plugin = ep.load()
            except Exception as exc:  # any import failure of a third-party plugin must not be fatal
                self.failed[ep.name] = f"{type(exc).__name__}: {exc}"
                warnings.warn(
                    f"deq plugin '{ep.name}' (distribution {dist}, {ep.value}) failed to load and was "
                    f"skipped: {type(exc).__name__}: {exc}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            self.register(plugin, name=ep.name, distribution=dist)

    def register(self, plugin: ModuleType | object, name: str, distribution: str = "<runtime>") -> None:
        """Register a plugin object (module or instance with ``@hookimpl`` functions) under ``name``."""
        self.pm.register(plugin, name=name)
        self._distribution[name] = distribution
        self._index = None

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name``."""
        self.pm.unregister(name=name)
        self._distribution.pop(name, None)
        self._index = None

    # -- component index ----------------------------------------------------------------------------
    def _build_index(self) -> dict[str, dict[str, Component]]:
        index: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            hook = getattr(self.pm.hook, f"deq_{kind}s")
            for impl in hook.get_hookimpls():
                plugin_name = self.pm.get_name(impl.plugin) or repr(impl.plugin)
                dist = self._distribution.get(plugin_name, "<runtime>")
                try:
                    provided = impl.function() or {}
                except Exception as exc:
                    self.failed[plugin_name] = f"{type(exc).__name__}: {exc}"
                    warnings.warn(
                        f"deq plugin '{plugin_name}' (distribution {dist}) failed while listing its "
                        f"{kind}s and was skipped for them: {type(exc).__name__}: {exc}",
                        PluginLoadWarning,
                        stacklevel=3,
                    )
                    continue
                for name, obj in provided.items():
                    previous = index[kind].get(name)
                    if previous is not None and previous.plugin != plugin_name:
                        raise PluginConflictError(
                            f"{kind} '{name}' is provided by two plugins: '{previous.plugin}' "
                            f"(distribution {previous.distribution}) and '{plugin_name}' "
                            f"(distribution {dist}); uninstall one or block it with "
                            f"DEQ_BLOCK_PLUGINS={plugin_name}"
                        )
                    index[kind][name] = Component(name, kind, obj, plugin_name, dist)
        return index

    @property
    def index(self) -> dict[str, dict[str, Component]]:
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def components(self, kind: str | None = None) -> list[Component]:
        """All components, or those of one ``kind``, sorted by kind then name."""
        kinds = KINDS if kind is None else (_check_kind(kind),)
        return [c for k in kinds for _, c in sorted(self.index[k].items())]

    def get(self, kind: str, name: str) -> Component:
        """The component ``name`` of ``kind``; an :class:`UnknownComponentError` lists what exists."""
        table = self.index[_check_kind(kind)]
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise UnknownComponentError(
                f"no {kind} named '{name}' is installed; installed {kind}s: {known}. "
                f"`deq list` shows every component and the distribution that provides it."
            )
        return table[name]

    def create(self, kind: str, name: str, /, **options: Any) -> Any:
        """Instantiate (call) the component ``name`` of ``kind`` with keyword ``options``."""
        return self.get(kind, name).obj(**options)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown component kind '{kind}'; expected one of {', '.join(KINDS)}")
    return kind


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, with every installed entry point loaded on first use."""
    global _default
    if _default is None:
        registry = Registry()
        blocked = [n for n in os.environ.get("DEQ_BLOCK_PLUGINS", "").split(",") if n.strip()]
        registry.load_entry_points(blocked=[n.strip() for n in blocked])
        _default = registry
    return _default


def reset_registry() -> None:
    """Forget the process-wide registry (the next :func:`get_registry` rescans entry points)."""
    global _default
    _default = None


def get(kind: str, name: str) -> Component:
    """Shortcut for ``get_registry().get(kind, name)``."""
    return get_registry().get(kind, name)


def create(kind: str, name: str, /, **options: Any) -> Any:
    """Shortcut for ``get_registry().create(kind, name, **options)``."""
    return get_registry().create(kind, name, **options)


def components(kind: str | None = None) -> list[Component]:
    """Shortcut for ``get_registry().components(kind)``."""
    return get_registry().components(kind)
