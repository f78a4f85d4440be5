"""Attributes of a package imported on first use (PEP 562).

A package's `__init__` that re-exports names from heavy modules makes every `import
package.sub` pay for them; with `__getattr__ = lazy_attributes(...)` a name's module is
imported only when the name is first read, and then kept in the package's globals.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `modules[name]` and returns its `name`."""

    def attribute(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(modules[name]), name)
        namespace[name] = value
        return value

    return attribute
