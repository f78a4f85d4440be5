"""The `schema` config as checked dataclasses, whatever form it came in.

A plain dict, a DictConfig or the dataclass are all accepted; unknown keys and wrongly
typed values fail here, naming the key, before any data is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mlconf.config import ColumnSchema, NamedSpec, SchemaConfig
from mlconf.core.errors import MlconfError, did_you_mean


def _as_mapping(schema: Any) -> Mapping[str, Any]:
    if isinstance(schema, DictConfig):
        container = OmegaConf.to_container(schema, resolve=True)
        return {str(k): v for k, v in container.items()} if isinstance(container, dict) else {}
    if dataclasses.is_dataclass(schema) and not isinstance(schema, type):
        return dataclasses.asdict(schema)
    if schema is None:
        return {}
    if not isinstance(schema, Mapping):
        raise MlconfError(
            f"a schema config must be a mapping, got {type(schema).__name__}",
            where="schema",
            fix="write the schema as `on_error: ..., columns: {name: {dtype: ...}}`",
        )
    return schema


def _reject_unknown(keys: Iterable[Any], known: list[str], where: str) -> None:
    for key in keys:
        if key not in known:
            raise MlconfError(
                f"unknown key '{key}'.{did_you_mean(str(key), known)} "
                f"Known keys: {', '.join(known)}",
                where=where,
                fix="correct or remove the key",
            )


def _expect(value: Any, types: tuple[type, ...], where: str, what: str) -> Any:
    """`value` if it is None or of `types` (true/false is not a number), else a clear error."""
    if value is None or (
        isinstance(value, types) and (bool in types or not isinstance(value, bool))
    ):
        return value
    raise MlconfError(f"expected {what}, got {value!r}", where=where)


def _flag(raw: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    """A true/false setting; an absent or null value means the default."""
    value = raw.get(key)
    return (
        default if value is None else bool(_expect(value, (bool,), f"{where}.{key}", "true/false"))
    )


def _check_spec(item: Any, where: str) -> NamedSpec:
    if isinstance(item, NamedSpec):
        return NamedSpec(name=item.name, params=dict(item.params or {}))
    if isinstance(item, str):
        return NamedSpec(name=item)
    if isinstance(item, DictConfig):
        item = OmegaConf.to_container(item, resolve=True)
    if isinstance(item, Mapping):
        _reject_unknown(item, ["name", "params"], where)
        name = item.get("name")
        params = item.get("params") or {}
        if not isinstance(name, str) or not isinstance(params, Mapping):
            raise MlconfError(
                f"a check needs a `name` (text) and optional `params` (mapping), got {dict(item)}",
                where=where,
            )
        return NamedSpec(name=name, params=dict(params))
    raise MlconfError(
        f"a check must be a name or {{name, params}}, got {item!r}",
        where=where,
        fix="write e.g. `checks: [{name: positive}]`",
    )


def _column_spec(name: str, raw: Any) -> ColumnSchema:
    where = f"schema.columns.{name}"
    if raw is None:
        return ColumnSchema()
    if isinstance(raw, DictConfig):
        raw = OmegaConf.to_container(raw, resolve=True)
    if dataclasses.is_dataclass(raw) and not isinstance(raw, type):
        raw = dataclasses.asdict(raw)
    if not isinstance(raw, Mapping):
        raise MlconfError(
            f"column rules must be a mapping, got {raw!r}",
            where=where,
            fix="write e.g. `Year: {dtype: int, min: 1970}`",
        )
    known = [f.name for f in dataclasses.fields(ColumnSchema)]
    _reject_unknown(raw, known, where)
    number = (int, float)
    checks = raw.get("checks") or []
    if not isinstance(checks, list | tuple):
        raise MlconfError(f"`checks` must be a list, got {checks!r}", where=where)
    allowed = raw.get("allowed")
    if allowed is not None and not isinstance(allowed, list | tuple):
        raise MlconfError(f"`allowed` must be a list, got {allowed!r}", where=f"{where}.allowed")
    return ColumnSchema(
        dtype=_expect(raw.get("dtype"), (str,), f"{where}.dtype", "a dtype name"),
        nullable=_flag(raw, "nullable", True, where),
        unique=_flag(raw, "unique", False, where),
        required=_flag(raw, "required", True, where),
        min=_expect(raw.get("min"), number, f"{where}.min", "a number"),
        max=_expect(raw.get("max"), number, f"{where}.max", "a number"),
        allowed=list(allowed) if allowed is not None else None,
        regex=_expect(raw.get("regex"), (str,), f"{where}.regex", "a regular expression"),
        checks=[_check_spec(c, f"{where}.checks") for c in checks],
    )


def schema_config(schema: SchemaConfig | Mapping[Any, Any] | Any) -> SchemaConfig:
    """Accept a plain dict, a DictConfig or the dataclass, and check keys and types once."""
    raw = _as_mapping(schema)
    known = [f.name for f in dataclasses.fields(SchemaConfig)]
    _reject_unknown(raw, known, "schema")
    columns = raw.get("columns") or {}
    if not isinstance(columns, Mapping):
        raise MlconfError(f"`columns` must be a mapping, got {columns!r}", where="schema.columns")
    return SchemaConfig(
        on_error=_expect(raw.get("on_error") or "fail", (str,), "schema.on_error", "text"),
        coerce=_flag(raw, "coerce", True, "schema"),
        strict=_flag(raw, "strict", False, "schema"),
        columns={str(name): _column_spec(str(name), spec) for name, spec in columns.items()},
    )
