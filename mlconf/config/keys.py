"""Walks of a composed config against its dataclass schema: the keys a node may hold,
the keys it holds that the schema does not declare, and keys that would name code."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any


def declared_keys(schema: type, path: str) -> list[str] | None:
    """The keys a dataclass schema declares at a dotted path, or None if not a dataclass."""
    node: Any = schema
    for part in filter(None, path.split(".")):
        if not dataclasses.is_dataclass(node):
            return None
        hint = typing.get_type_hints(node).get(part)
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is dict and len(args) == 2:
            return None  # a free mapping: its keys are the user's
        node = args[0] if args and not dataclasses.is_dataclass(hint) else hint
    if not dataclasses.is_dataclass(node):
        return None
    return [f.name for f in dataclasses.fields(node)]


CALLABLE_KEYS = ("_target_", "_partial_", "_args_")


def callable_keys(node: Any, prefix: str = "") -> list[str]:
    """Every key anywhere in `node` that would make Hydra's `instantiate` call Python code.

    mlconf never instantiates user config, and a config naming a callable is refused
    outright rather than reported as a merely unknown key (Hydra's `_target_` advisories).
    """
    from omegaconf import DictConfig, ListConfig

    found: list[str] = []
    if isinstance(node, DictConfig):
        for key in map(str, node):
            name = f"{prefix}{key}"
            if key in CALLABLE_KEYS:
                found.append(name)
            found += callable_keys(node._get_node(key), f"{name}.")
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            found += callable_keys(node._get_node(index), f"{prefix.rstrip('.')}[{index}].")
    return found


def unknown_keys(node: Any, schema: type, prefix: str = "") -> list[tuple[str, list[str]]]:
    """Keys in `node` that `schema` does not declare, with the names it does declare.

    Hydra lets `+key=value` add keys even to typed nodes, and OmegaConf.to_object then
    keeps them silently; this walk turns such a typo into an error.
    """
    import dataclasses
    import typing

    from omegaconf import DictConfig

    if not isinstance(node, DictConfig):
        return []
    hints = typing.get_type_hints(schema)
    declared = [f.name for f in dataclasses.fields(schema)]
    found: list[tuple[str, list[str]]] = []
    for key in node:
        name = str(key)
        if name not in hints:
            found.append((f"{prefix}{name}", declared))
            continue
        value = node._get_node(name)
        for inner, (inner_schema, inner_prefix) in _typed_children(hints[name], value, name):
            found += unknown_keys(inner, inner_schema, f"{prefix}{inner_prefix}")
    return found


def _typed_children(hint: Any, value: Any, path: str) -> list[tuple[Any, tuple[Any, str]]]:
    """The dataclass-typed nodes under one field: itself, dict values, or list items."""
    import dataclasses
    import typing

    from omegaconf import DictConfig, ListConfig

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return [(value, (hint, f"{path}."))]
    if origin is dict and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        if isinstance(value, DictConfig):
            return [(value._get_node(str(k)), (args[1], f"{path}.{k!s}.")) for k in value]
        return []
    if origin is list and args and dataclasses.is_dataclass(args[0]):
        if isinstance(value, ListConfig):
            return [(item, (args[0], f"{path}[{i}].")) for i, item in enumerate(value)]
        return []
    if len(args) == 1 and dataclasses.is_dataclass(args[0]) and isinstance(value, DictConfig):
        return [(value, (args[0], f"{path}."))]
    return []
