"""Strict JSON: what mlconf writes or sends parses in every JSON reader.

Python's `json` writes `NaN`, `Infinity` and `-Infinity` by default; they are not JSON
(RFC 8259), and strict readers (a webhook receiver, `jq`, JavaScript's `JSON.parse`)
refuse the whole document. Here every non-finite float becomes `null`, each replacement
is listed by its path (so a caller can record why a number is missing), and the text is
made with `allow_nan=False`, so nothing non-finite can slip through.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "finite", "replaced_reasons"]


def finite(obj: Any) -> tuple[Any, list[tuple[str, str]]]:
    """`obj` as plain JSON values (numpy values unwrapped, sets and tuples as lists, anything
    else, e.g. a path or a timestamp, as its text) with each non-finite float replaced by
    None; and the replacements as (path, original value), e.g. ("drift.score", "inf")."""
    replaced: list[tuple[str, str]] = []
    return _walk(obj, "$", replaced), replaced


def _walk(obj: Any, path: str, replaced: list[tuple[str, str]]) -> Any:
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return float(obj)
        replaced.append((path.removeprefix("$."), repr(float(obj))))
        return None
    if isinstance(obj, dict):
        return {_key(k): _walk(v, f"{path}.{_key(k)}", replaced) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [_walk(v, f"{path}[{i}]", replaced) for i, v in enumerate(items)]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, pandas values
        return _walk(obj.tolist(), path, replaced)
    if hasattr(obj, "item"):
        return _walk(obj.item(), path, replaced)
    return str(obj)


def _key(key: Any) -> str:
    """A dict key as JSON writes it (always a string, so paths and `sort_keys` agree)."""
    if isinstance(key, str):
        return key
    if isinstance(key, float) and not math.isfinite(key):
        return repr(key)
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key.item() if hasattr(key, "item") else key)


def replaced_reasons(replaced: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The replacements as records for a document: {path, value, reason}."""
    return [
        {
            "path": path,
            "value": value,
            "reason": f"{value} is not a JSON number: written as null",
        }
        for path, value in replaced
    ]


def dumps(
    obj: Any,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    reasons_key: str | None = None,
    separators: tuple[str, str] | None = None,
) -> str:
    """Strict JSON text of `obj`. With `reasons_key` and a dict `obj`, the replaced
    non-finite values are also listed under that key (path, value, reason)."""
    clean, replaced = finite(obj)
    if reasons_key and replaced and isinstance(clean, dict):
        clean[reasons_key] = [*clean.get(reasons_key, []), *replaced_reasons(replaced)]
    return json.dumps(
        clean, indent=indent, sort_keys=sort_keys, allow_nan=False, separators=separators
    )
