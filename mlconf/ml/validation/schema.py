"""The pandera schema built from the schema config: dtypes, ranges, sets, regexes, checks."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from mlconf.config import ColumnSchema, NamedSpec, SchemaConfig
from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.ml.validation.schema_config import schema_config

# Friendly dtype -> pandas dtype, for (nullable: false, nullable: true). Nullable columns use
# pandas' masked dtypes because numpy int/bool cannot hold a missing value.
FRIENDLY_DTYPES: dict[str, tuple[str, str]] = {
    "int": ("int64", "Int64"),
    "float": ("float64", "float64"),
    "str": ("str", "str"),
    "bool": ("bool", "boolean"),
    # pandera accepts any resolution (s..ns) as this dtype and parses text to ns.
    "datetime": ("datetime64[ns]", "datetime64[ns]"),
    "category": ("category", "category"),
}

_NON_NUMERIC = ("str", "category", "bool", "datetime")
log = logging.getLogger("mlconf.ml.validation")


def pandas_dtype(column: str, spec: ColumnSchema) -> str | None:
    """The pandas dtype a column's friendly (or pandas) dtype name stands for."""
    if spec.dtype is None:
        return None
    if spec.dtype in FRIENDLY_DTYPES:
        strict, nullable = FRIENDLY_DTYPES[spec.dtype]
        return nullable if spec.nullable else strict
    try:
        pandas_engine.Engine.dtype(spec.dtype)
    except (TypeError, ValueError) as exc:
        friendly = list(FRIENDLY_DTYPES)
        raise MlconfError(
            f"column '{column}' has unknown dtype '{spec.dtype}'."
            f"{did_you_mean(spec.dtype, friendly)}"
            f" Allowed: {', '.join(friendly)}, or a pandas dtype such as int32, float32, Int64, "
            "string, datetime64[ns, UTC]",
            where=f"schema.columns.{column}.dtype",
            fix="use one of the names above",
        ) from exc
    return spec.dtype


def _check_label(name: str, params: Mapping[str, Any]) -> str:
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def _custom_check(column: str, spec: NamedSpec) -> pa.Check:
    """A registered check, wrapped so that failures name it (and its parameters)."""
    where = f"schema.columns.{column}.checks"
    params = dict(spec.params or {})
    try:
        component = registry.get("check", spec.name)
        registry.check_params(component, params)
    except MlconfError as exc:
        raise MlconfError(exc.what, where=where, fix=exc.fix) from exc
    try:
        fn = component.factory(**params)
    except MlconfError as exc:
        raise MlconfError(exc.what, where=where, fix=exc.fix) from exc
    except Exception as exc:
        raise MlconfError(
            f"check '{spec.name}' could not be built with params {params}: {exc}",
            where=where,
            fix="correct the check's params",
        ) from exc
    if not callable(fn):
        raise MlconfError(
            f"check '{spec.name}' returned {type(fn).__name__}, not a function",
            where=f"check '{spec.name}' ({component.origin})",
            fix="a check factory must return a function `series -> bool Series (or bool)`",
        )
    label = _check_label(spec.name, params)
    return pa.Check(
        fn,
        name=label,
        error=label,
        ignore_na=bool(component.meta.get("ignore_na", True)),
    )


def _column(name: str, spec: ColumnSchema) -> pa.Column:
    where = f"schema.columns.{name}"
    dtype = pandas_dtype(name, spec)
    checks: list[pa.Check] = []
    if (spec.min is not None or spec.max is not None) and spec.dtype in _NON_NUMERIC:
        raise MlconfError(
            f"min/max apply to numeric columns, but '{name}' has dtype {spec.dtype}",
            where=where,
            fix="remove min/max, or use `allowed` / `regex` for this column",
        )
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        raise MlconfError(f"min ({spec.min}) is greater than max ({spec.max})", where=where)
    if spec.min is not None:
        checks.append(pa.Check.ge(spec.min))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max))
    if spec.allowed is not None:
        allowed = [str(v) for v in spec.allowed] if spec.dtype == "str" else list(spec.allowed)
        label = f"isin({allowed!r})"
        if len(allowed) > 6:
            label = f"isin([{', '.join(repr(v) for v in allowed[:5])}, ... {len(allowed)} values])"
        checks.append(pa.Check.isin(allowed, error=label))
    if spec.regex is not None:
        try:
            re.compile(spec.regex)
        except re.error as exc:
            raise MlconfError(
                f"regex {spec.regex!r} is not a valid regular expression: {exc}",
                where=f"{where}.regex",
            ) from exc
        checks.append(_regex_check(name, spec.regex))
    checks.extend(_custom_check(name, c) for c in spec.checks)
    return pa.Column(
        dtype,
        checks=checks,
        nullable=spec.nullable,
        unique=spec.unique,
        required=spec.required,
        name=name,
    )


def _regex_check(column: str, pattern: str) -> pa.Check:
    """The whole value must match, with bounded work per value (mlconf.core.regex_rules)."""
    from mlconf.core.regex_rules import full_matches, slow_message

    def check(series: pd.Series) -> pd.Series:
        result = full_matches(pattern, series.tolist())
        if result.undecided:
            log.warning(slow_message(column, pattern, result))
        return pd.Series(result.matched, index=series.index, dtype=bool)

    return pa.Check(check, error=f"regex({pattern!r})")


def build_schema(
    schema: SchemaConfig | Mapping[Any, Any], *, target: str | None = None
) -> pa.DataFrameSchema:
    """Turn the schema config into a pandera schema; config mistakes fail here, before data.

    `target`, when given, must be present in every frame (even when `columns` omits it),
    because a run cannot train or evaluate without it. Its other rules come from `columns`.
    """
    cfg = schema_config(schema)
    specs = dict(cfg.columns)
    if target is not None:
        specs[target] = dataclasses.replace(specs.get(target, ColumnSchema()), required=True)
    columns = {name: _column(name, spec) for name, spec in specs.items()}
    return pa.DataFrameSchema(columns, coerce=cfg.coerce, strict=cfg.strict)
