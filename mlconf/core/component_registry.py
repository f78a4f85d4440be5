"""The component registry: every configurable part is found here by (kind, name).

Configs name components; they never name Python paths (docs/architecture.md: names, not code).
Built-ins are registered when their module is first imported; modules keep heavy
imports inside the factories so that listing the registry stays cheap.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from mlconf.core.errors import MlconfError, did_you_mean, unknown_parameter

KINDS: tuple[str, ...] = (
    "source",
    "check",
    "cleaner",
    "transform",
    "selector",
    "splitter",
    "model",
    "metric",
    "explainer",
    "drift",
    "trigger",
    "notifier",
    "tracker",
)

BUILTIN_MODULES: tuple[str, ...] = (
    "mlconf.components.sources",
    "mlconf.components.checks",
    "mlconf.components.transforms",
    "mlconf.components.selectors",
    "mlconf.components.splitters",
    "mlconf.components.models",
    "mlconf.components.metrics",
    "mlconf.components.drift",
    "mlconf.components.notifiers",
    "mlconf.components.triggers",
    "mlconf.components.trackers",
)

ENTRY_POINT_GROUP = "mlconf.plugins"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Component:
    """A registered factory with where it came from and what it declares about itself."""

    kind: str
    name: str
    factory: Callable[..., Any]
    origin: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.factory) or ""
        return doc.splitlines()[0] if doc else ""


# Every @register call ever made, in order. Imports run once per process, so a
# Registry adopts declarations from this log instead of relying on import side effects:
# that is what lets a fresh Registry (one per test) see the built-ins and plugins.
_DECLARED: list[Component] = []


class Registry:
    """Holds components by kind and name; a fresh one per test keeps state from leaking."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self._loaded_builtins = False
        self._loaded_entry_points = False
        self._origin_override: str | None = None

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        origin: str | None = None,
        **meta: Any,
    ) -> None:
        """Register `factory` as `name` of `kind`; a clash with another origin is an error."""
        if kind not in self._items:
            raise MlconfError(
                f"unknown component kind '{kind}'.{did_you_mean(kind, KINDS)}",
                where=f"register({kind!r}, {name!r})",
                fix=f"use one of: {', '.join(KINDS)}",
            )
        if not callable(factory):
            raise MlconfError(
                f"a {kind} must be a function or class, got {type(factory).__name__}",
                where=f"register({kind!r}, {name!r})",
            )
        origin = origin or self._origin_override or _origin_of(factory)
        existing = self._items[kind].get(name)
        if existing is not None and existing.factory is not factory:
            same_place = (
                existing.factory.__module__ == factory.__module__
                and existing.factory.__qualname__ == factory.__qualname__
            )
            if not same_place:
                raise MlconfError(
                    f"{kind} '{name}' is already registered by {existing.origin}",
                    where=f"register({kind!r}, {name!r}) in {origin}",
                    fix="choose another name for your component",
                )
        self._items[kind][name] = Component(kind, name, factory, origin, dict(meta))

    def get(self, kind: str, name: str) -> Component:
        """Look a component up; an unknown name names the kind, the known names and a guess."""
        self.load_builtins()
        if kind not in self._items:
            raise MlconfError(
                f"unknown component kind '{kind}'.{did_you_mean(kind, KINDS)}",
                fix=f"use one of: {', '.join(KINDS)}",
            )
        found = self._items[kind].get(name)
        if found is None:
            self.load_entry_points()
            found = self._items[kind].get(name)
        if found is None:
            known = sorted(self._items[kind])
            raise MlconfError(
                f"unknown {kind} '{name}'.{did_you_mean(name, known)} "
                f"Known {kind}s: {', '.join(known) or '(none)'}",
                fix=(
                    f"pick a known {kind}, or register your own with "
                    f"@mlconf.register('{kind}', '{name}') in a module listed under `plugins:`"
                ),
            )
        return found

    def names(self, kind: str) -> list[str]:
        self.load_builtins()
        return sorted(self._items[kind])

    def __iter__(self) -> Iterator[Component]:
        self.load_all()
        for kind in KINDS:
            yield from (self._items[kind][n] for n in sorted(self._items[kind]))

    def load_builtins(self) -> None:
        if self._loaded_builtins:
            return
        self._loaded_builtins = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
            self._adopt(module)

    def _adopt(self, module: str, origin: str | None = None) -> int:
        """Take over the components declared in `module` (or its submodules)."""
        adopted = 0
        for c in list(_DECLARED):
            declared_in = getattr(c.factory, "__module__", "") or ""
            if declared_in == module or declared_in.startswith(f"{module}."):
                self.add(c.kind, c.name, c.factory, origin=origin or c.origin, **c.meta)
                adopted += 1
        return adopted

    def load_entry_points(self) -> None:
        """Import third-party plugin modules declared under the `mlconf.plugins` group."""
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            origin = f"entry point {ep.name} ({dist})"
            self._origin_override = origin
            try:
                loaded = ep.load()
                if callable(loaded) and not inspect.ismodule(loaded):
                    loaded(self)  # the `module:function` form: function(registry)
            except MlconfError:
                raise
            except Exception as exc:
                raise MlconfError(
                    f"plugin entry point '{ep.name}' = '{ep.value}' failed to load: {exc}",
                    where=f"entry point group {ENTRY_POINT_GROUP} of {dist}",
                    fix=f"fix or uninstall the package {dist}",
                ) from exc
            finally:
                self._origin_override = None
            self._adopt(ep.module, origin=origin)

    def load_all(self) -> None:
        self.load_builtins()
        self.load_entry_points()

    def import_plugins(self, modules: list[str]) -> None:
        """Import the project's own plugin modules named in config (`plugins: [...]`)."""
        for module in modules:
            if not all(part.isidentifier() for part in str(module).split(".")):
                raise MlconfError(
                    f"plugin module '{module}' is not a module name",
                    where="config key plugins",
                    fix="name the module as Python imports it (my_components or "
                    "my_package.components), not as a file path",
                )
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                raise MlconfError(
                    f"plugin module '{module}' cannot be imported ({exc})",
                    where="config key plugins",
                    fix="check the module name and that its folder is on PYTHONPATH "
                    "(run from the project folder, or `pip install -e` it)",
                ) from exc
            except Exception as exc:  # the plugin's own code failed: say where
                raise MlconfError(
                    f"plugin module '{module}' failed while being imported: "
                    f"{type(exc).__name__}: {exc}{_raised_at(exc)}",
                    where="config key plugins",
                    fix="fix the error in that module (MLCONF_TRACEBACK=1 shows the traceback)",
                ) from exc
            self._adopt(module)

    def origin_modules(self) -> set[str]:
        """Modules that registered at least one component here (built-in or plugin)."""
        return {c.factory.__module__ for kind in KINDS for c in self._items[kind].values()}


def _raised_at(exc: BaseException) -> str:
    """' (at FILE:LINE)', the last frame of the traceback (a SyntaxError names its own)."""
    import traceback

    if isinstance(exc, SyntaxError):
        return ""
    frames = traceback.extract_tb(exc.__traceback__)
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _origin_of(factory: Callable[..., Any]) -> str:
    module = getattr(factory, "__module__", "") or ""
    if module.startswith("mlconf."):
        return "builtin"
    return f"module {module}"


REGISTRY = Registry()


def register(kind: str, name: str, **meta: Any) -> Callable[[F], F]:
    """Decorator: make a function or class available to configs as `name` of `kind`."""

    def decorate(factory: F) -> F:
        REGISTRY.add(kind, name, factory, **meta)
        _DECLARED.append(Component(kind, name, factory, _origin_of(factory), dict(meta)))
        return factory

    return decorate


def get(kind: str, name: str) -> Component:
    return REGISTRY.get(kind, name)


def require(kind: str, name: str, key: str) -> Component:
    """The component a config key names; an unknown name fails naming the key."""
    try:
        return REGISTRY.get(kind, name)
    except MlconfError as exc:
        raise MlconfError(exc.what, where=f"config key {key}", fix=exc.fix) from exc


def build(kind: str, name: str, **params: Any) -> Any:
    """Call a component's factory, turning a wrong parameter into a clear config error."""
    component = REGISTRY.get(kind, name)
    check_params(component, params)
    return component.factory(**params)


def check_params(component: Component, params: dict[str, Any]) -> None:
    """Reject parameters the factory does not take, before any work is done."""
    try:
        signature = inspect.signature(component.factory)
    except (TypeError, ValueError):
        return
    accepted = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return
    for key in params:
        if key not in accepted:
            raise unknown_parameter(f"{component.kind} '{component.name}'", key, accepted)
