"""Plugin registry: discovers ``deq`` entry points with pluggy and indexes the components they provide.

Rules (see docs/plugins.md):

* every plugin, deq's own included, is a module named by an entry point in the group ``deq``;
* a plugin that fails to import or to register, that implements a hook deq does not define (a misspelled
  ``deq_operator``), or whose hook raises or returns something other than a mapping of callables, is reported
  with a :class:`PluginLoadWarning` naming it and the problem, listed by ``deq list``, and skipped (only the
  broken part); the other plugins still load;
* two plugins that provide the same name for the same kind: that name is unusable (:meth:`Registry.get`
  raises :class:`PluginConflictError` naming both distributions) and the conflict is reported; every other
  component keeps working;
* plugins can be blocked by entry-point name with ``DEQ_BLOCK_PLUGINS=name1,name2``.
"""

from __future__ import annotations

import difflib
import inspect
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from deq.core import hookspecs
from deq.core.errors import DeqError
from deq.core.hookspecs import HOOKS, KINDS, PROJECT

ENTRY_POINT_GROUP = "deq"


class PluginConflictError(DeqError, RuntimeError):
    """Two plugins provide a component of the same kind under the same name."""


class PluginLoadWarning(UserWarning):
    """A plugin, or part of it, could not be loaded; it was skipped (the message names the plugin)."""


class UnknownComponentError(DeqError, KeyError):
    """No installed plugin provides the requested component."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


class ComponentOptionError(DeqError, TypeError):
    """A component was created with an option it does not take (or without one it needs)."""


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


@dataclass(frozen=True)
class PluginProblem:
    """Something wrong with an installed plugin: what was skipped and why."""

    plugin: str
    distribution: str
    message: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' (distribution {self.distribution}): {self.message}"


class Registry:
    """A pluggy plugin manager plus an index ``(kind, name) -> Component`` and the problems found on the way."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._distribution: dict[str, str] = {}
        self._problems: list[PluginProblem] = []  # import, registration, unknown hooks, CLI commands
        self._index_problems: list[PluginProblem] = []  # recomputed with the index
        self._warned: set[PluginProblem] = set()
        self._index: dict[str, dict[str, Component]] | None = None
        self._conflicts: dict[tuple[str, str], str] = {}

    # -- problems -----------------------------------------------------------------------------------
    def distribution(self, plugin: str) -> str:
        """The distribution that installed the plugin registered as ``plugin``."""
        return self._distribution.get(plugin, "<runtime>")

    def report(self, plugin: str, message: str) -> None:
        """Record a problem of ``plugin`` (listed by ``deq list``) and warn with :class:`PluginLoadWarning`, once."""
        problem = PluginProblem(plugin, self.distribution(plugin), message)
        if problem not in self._problems:
            self._problems.append(problem)
        self._warn(problem)

    def _warn(self, problem: PluginProblem) -> None:
        if problem not in self._warned:
            self._warned.add(problem)
            warnings.warn(f"deq {problem}", PluginLoadWarning, stacklevel=3)

    @property
    def problems(self) -> list[PluginProblem]:
        """Every problem found so far, the component index included."""
        _ = self.index
        return self._problems + self._index_problems

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
            self._distribution[ep.name] = ep.dist.name if ep.dist is not None else "<unknown distribution>"
            try:
                plugin = ep.load()
            except Exception as exc:  # any import failure of a third-party plugin must not be fatal
                self.report(ep.name, f"failed to load ({ep.value}) and was skipped: {type(exc).__name__}: {exc}")
                continue
            self.register(plugin, name=ep.name, distribution=self._distribution[ep.name])

    def register(self, plugin: ModuleType | object, name: str, distribution: str = "<runtime>") -> None:
        """Register a plugin object (module or instance with ``@hookimpl`` functions) under ``name``.

        A plugin pluggy rejects (a hook implementation whose arguments the specification does not have) is
        reported and skipped; hook implementations deq does not define (misspelled names) are reported."""
        self._distribution[name] = distribution
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.report(name, f"was rejected and skipped: {' '.join(str(exc).split())}")
            return
        self._index = None
        for caller in self.pm.get_hookcallers(plugin) or ():
            if caller.has_spec() or all(impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin):
                continue
            close = difflib.get_close_matches(caller.name, HOOKS.values(), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"deq's hooks: {', '.join(sorted(HOOKS.values()))}"
            self.report(name, f"implements unknown hook '{caller.name}' (ignored; {hint})")

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name`` (if it is) and forget its problems."""
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self._distribution.pop(name, None)
        self._problems = [p for p in self._problems if p.plugin != name]
        self._index = None

    # -- component index ----------------------------------------------------------------------------
    def _provided(self, kind: str, impl: pluggy.HookImpl) -> dict[str, Any]:
        """What one hook implementation provides for ``kind``; a failure is recorded and gives nothing."""
        hook = HOOKS[kind]
        try:
            provided = impl.function() or {}
            if not isinstance(provided, Mapping):
                raise TypeError(f"returned {type(provided).__name__}, expected a mapping name -> {kind}")
        except Exception as exc:
            self._index_problem(impl.plugin_name, f"{hook}() failed, its {kind}s were skipped: {type(exc).__name__}: {exc}")
            return {}
        good = {name: obj for name, obj in provided.items() if callable(obj)}
        for name in provided.keys() - good.keys():
            self._index_problem(impl.plugin_name, f"{hook}(): {kind} '{name}' is not callable and was skipped")
        return good

    def _index_problem(self, plugin: str, message: str) -> None:
        problem = PluginProblem(plugin, self.distribution(plugin), message)
        self._index_problems.append(problem)
        self._warn(problem)

    def _build_index(self) -> dict[str, dict[str, Component]]:
        self._index_problems, self._conflicts = [], {}
        index: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            providers: dict[str, list[Component]] = {}
            for impl in getattr(self.pm.hook, HOOKS[kind]).get_hookimpls():
                dist = self.distribution(impl.plugin_name)
                for name, obj in self._provided(kind, impl).items():
                    providers.setdefault(name, []).append(Component(name, kind, obj, impl.plugin_name, dist))
            for name, comps in providers.items():
                if len(comps) == 1:
                    index[kind][name] = comps[0]
                    continue
                who = " and ".join(f"'{c.plugin}' (distribution {c.distribution})" for c in comps)
                message = (
                    f"{kind} '{name}' is provided by plugins {who}, so neither is used; uninstall one or block it "
                    f"with DEQ_BLOCK_PLUGINS={comps[-1].plugin}"
                )
                self._conflicts[(kind, name)] = message
                self._index_problem(comps[-1].plugin, message)
        return index

    @property
    def index(self) -> dict[str, dict[str, Component]]:
        """``kind -> name -> Component`` of every usable component (built on first use)."""
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def components(self, kind: str | None = None) -> list[Component]:
        """All usable components, or those of one ``kind``, sorted by kind then name."""
        kinds = KINDS if kind is None else (_check_kind(kind),)
        return [c for k in kinds for _, c in sorted(self.index[k].items())]

    def get(self, kind: str, name: str) -> Component:
        """The component ``name`` of ``kind``.

        Raises:
            UnknownComponentError: listing the installed components of ``kind``.
            PluginConflictError: two plugins provide ``name``; names both.
        """
        table = self.index[_check_kind(kind)]
        if name in table:
            return table[name]
        if (kind, name) in self._conflicts:
            raise PluginConflictError(self._conflicts[(kind, name)])
        known = ", ".join(sorted(table)) or "none"
        raise UnknownComponentError(
            f"no {kind} named '{name}' is installed; installed {kind}s: {known}. "
            f"`deq list` shows every component and the distribution that provides it."
        )

    def create(self, kind: str, name: str, /, **options: Any) -> Any:
        """Instantiate (call) the component ``name`` of ``kind`` with keyword ``options``.

        Raises:
            ComponentOptionError: an option the component does not take, or a required one missing; the
                message lists the options it takes.
        """
        obj = self.get(kind, name).obj
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):  # no introspectable signature: the call itself checks the options
            return obj(**options)
        try:
            signature.bind(**options)
        except TypeError as exc:
            keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            takes = ", ".join(p.name for p in signature.parameters.values() if p.kind in keywords) or "no options"
            raise ComponentOptionError(f"{kind} '{name}': {exc}; it takes {takes} (`deq info {name}`)") from None
        return obj(**options)


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
