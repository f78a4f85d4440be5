"""Schema validation: the `schema` config group becomes a pandera schema that checks frames.

Validation is lazy, so one run reports every broken rule at once instead of the first.
Bad rows either stop the run (`on_error: fail`) or are set aside with their reasons
(`on_error: quarantine`), so that a few broken rows do not cost the whole batch.
Problems that no single row can be blamed for (a missing column, a column that cannot
be converted at all, a failed column-level check) always stop the run.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml
from omegaconf import DictConfig, OmegaConf
from pandera.engines import pandas_engine
from pandera.errors import ParserError, SchemaDefinitionError, SchemaErrors

from mlconf import registry
from mlconf.config import ColumnSchema, NamedSpec, SchemaConfig
from mlconf.errors import MlconfError, did_you_mean

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
ON_ERROR: tuple[str, ...] = ("fail", "quarantine")
ROW_COLUMN = "_row"
REASONS_COLUMN = "_reasons"
FAILURE_COLUMNS: tuple[str, ...] = ("column", "check", "row", "value")
MAX_SHOWN = 20

_MISSING_COLUMN = "missing required column"
_EXTRA_COLUMN = "column not in schema (strict)"
_RENAMED_CHECKS = {
    "column_in_dataframe": _MISSING_COLUMN,
    "column_in_schema": _EXTRA_COLUMN,
    "field_uniqueness": "unique",
}
_NON_NUMERIC = ("str", "category", "bool", "datetime")
_MAX_PROBED_VALUES = 10_000
log = logging.getLogger("mlconf.validation")


@dataclass
class ValidationResult:
    """What validation kept and set aside, and why: enough to write a quarantine report."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    failures: pd.DataFrame
    n_checked: int

    @property
    def n_quarantined(self) -> int:
        return len(self.quarantined)


@dataclass(frozen=True)
class _Failure:
    column: str | None
    check: str
    pos: int | None  # position in the input frame; None for failures of the whole frame/column
    value: Any


# ---------------------------------------------------------------------------------------------
# Config normalisation
# ---------------------------------------------------------------------------------------------


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


def _schema_config(schema: SchemaConfig | Mapping[Any, Any] | Any) -> SchemaConfig:
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


# ---------------------------------------------------------------------------------------------
# Schema building
# ---------------------------------------------------------------------------------------------


def _pandas_dtype(column: str, spec: ColumnSchema) -> str | None:
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


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    dtype = _pandas_dtype(name, spec)
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
    """The whole value must match, with bounded work per value (mlconf.regex_rules)."""
    from mlconf.regex_rules import full_matches, slow_message

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
    cfg = _schema_config(schema)
    specs = dict(cfg.columns)
    if target is not None:
        specs[target] = dataclasses.replace(specs.get(target, ColumnSchema()), required=True)
    columns = {name: _column(name, spec) for name, spec in specs.items()}
    return pa.DataFrameSchema(columns, coerce=cfg.coerce, strict=cfg.strict)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _nullable_counterpart(dtype: str) -> Any:
    """The masked dtype for numpy int/bool, so that probing coercion survives missing cells."""
    try:
        np_dtype = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return dtype
    if isinstance(np_dtype, np.dtype):
        if np_dtype.kind == "i":
            return f"Int{np_dtype.itemsize * 8}"
        if np_dtype.kind == "u":
            return f"UInt{np_dtype.itemsize * 8}"
        if np_dtype.kind == "b":
            return "boolean"
    return dtype


def _bad_cells(series: pd.Series, engine_dtype: Any, exc: ParserError) -> pd.Series:
    """Which cells made coercion fail; pandera names them in most cases, else probe values."""
    bad = pd.Series(False, index=series.index)
    cases = exc.failure_cases
    if isinstance(cases, pd.DataFrame) and "index" in cases and len(cases):
        found = cases["index"].dropna()
        bad[bad.index.isin(list(found))] = True
        if bad.any():
            return bad
    try:
        values = pd.unique(series.dropna())
    except TypeError:
        return bad
    if len(values) > _MAX_PROBED_VALUES:
        return bad
    wrong = []
    for value in values:
        try:
            engine_dtype.try_coerce(pd.Series([value], dtype=object))
        except Exception:
            wrong.append(value)
    if wrong:
        bad = series.isin(wrong) & series.notna()
    return bad


def _coerce_cells(
    work: pd.DataFrame, dtypes: Mapping[str, str]
) -> tuple[pd.DataFrame, list[_Failure], set[str]]:
    """Coerce column by column so that one bad cell fails its row, not the whole column.

    Cells that cannot be converted are recorded and blanked, so the remaining checks run on
    a properly typed column. Returns the frame, the failures and the columns that could not
    be converted at all.
    """
    failures: list[_Failure] = []
    broken: set[str] = set()
    for name, dtype in dtypes.items():
        if name not in work.columns or isinstance(work[name], pd.DataFrame):
            continue
        series = work[name]
        engine_dtype = pandas_engine.Engine.dtype(_nullable_counterpart(dtype))
        try:
            work[name] = engine_dtype.try_coerce(series)
            continue
        except ParserError as exc:
            bad = _bad_cells(series, engine_dtype, exc)
        check = f"coerce_dtype('{dtype}')"
        if bad.any():
            try:
                coerced = engine_dtype.try_coerce(series.mask(bad))
            except (ParserError, TypeError, ValueError):
                coerced = None
            if coerced is not None:
                work[name] = coerced
                failures.extend(
                    _Failure(name, check, int(label), series.loc[label])
                    for label in bad.index[bad.to_numpy()]
                )
                continue
        broken.add(name)
        failures.append(_Failure(name, check, None, f"column of dtype {series.dtype}"))
    return work, failures, broken


def _plain(value: Any) -> Any:
    """Python scalars for numpy ones and None for every kind of missing, for readable output."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if value is not None and not isinstance(value, str) and bool(pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _from_pandera(exc: SchemaErrors) -> list[_Failure]:
    out: list[_Failure] = []
    for row in exc.failure_cases.to_dict("records"):
        check = str(row.get("check"))
        check = _RENAMED_CHECKS.get(check, check)
        column = row.get("column")
        value = row.get("failure_case")
        index = row.get("index")
        if check in (_MISSING_COLUMN, _EXTRA_COLUMN):
            column, value = value, None
        pos = None if index is None or _plain(index) is None else int(index)
        out.append(_Failure(None if column is None else str(column), check, pos, value))
    return out


def _dedupe(failures: list[_Failure]) -> list[_Failure]:
    """One failure per cause: a cell that did not convert or is missing fails once."""
    by_cell: dict[tuple[str | None, int], list[_Failure]] = {}
    for f in failures:
        if f.pos is not None:
            by_cell.setdefault((f.column, f.pos), []).append(f)
    drop: set[int] = set()
    for items in by_cell.values():
        checks = {f.check for f in items}
        converted = any(c.startswith("coerce_dtype") for c in checks)
        for f in items:
            # A missing value that a numpy dtype cannot hold: "not nullable" says it all;
            # and a dtype failure repeats the conversion failure of the same cell.
            if ("not_nullable" in checks and f.check.startswith(("coerce_dtype", "dtype("))) or (
                converted and f.check.startswith("dtype(")
            ):
                drop.add(id(f))
    seen: set[tuple[Any, ...]] = set()
    out: list[_Failure] = []
    for f in failures:
        key = (f.column, f.check, f.pos, None if f.pos is not None else str(f.value))
        if id(f) in drop or key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


class _Validator:
    """Runs the two passes (cell coercion, then pandera) over a frame with a positional index."""

    def __init__(self, frame: pd.DataFrame, cfg: SchemaConfig, target: str | None) -> None:
        self.frame = frame
        self.schema = build_schema(cfg, target=target)
        self.dtypes: dict[str, str] = {}
        if cfg.coerce:
            for name, spec in cfg.columns.items():
                dtype = _pandas_dtype(name, spec)
                if dtype is not None:
                    self.dtypes[name] = dtype

    def run(self, positions: list[int]) -> tuple[pd.DataFrame | None, list[_Failure]]:
        work = self.frame.iloc[positions].copy()
        work.index = pd.Index(positions)
        work, failures, broken = _coerce_cells(work, self.dtypes)
        blanked = {(f.column, f.pos) for f in failures if f.pos is not None}
        try:
            out = self.schema.validate(work, lazy=True)
        except SchemaErrors as exc:
            # A blanked cell already failed for its value; what pandera says about the blank
            # is noise, and so is anything about a column that could not be converted.
            found = [
                f
                for f in _from_pandera(exc)
                if f.column not in broken and (f.column, f.pos) not in blanked
            ]
            return None, _dedupe(failures + found)
        except SchemaDefinitionError as exc:
            raise MlconfError(f"the schema cannot be applied: {exc}", where="schema") from exc
        return (out if not failures else None), _dedupe(failures)

    def original(self, f: _Failure) -> _Failure:
        """Report the value as it was in the input, not after coercion."""
        if f.pos is None or f.column not in self.frame.columns:
            return dataclasses.replace(f, value=_plain(f.value))
        column = self.frame[f.column]
        if isinstance(column, pd.DataFrame):
            return dataclasses.replace(f, value=_plain(f.value))
        return dataclasses.replace(f, value=_plain(column.iloc[f.pos]))


def _show(value: Any, limit: int = 40) -> str:
    if value is None:
        return "missing"
    return _short(repr(value), limit)


def _label(frame: pd.DataFrame, pos: int | None) -> Any:
    return None if pos is None else _plain(frame.index[pos])


def _table(frame: pd.DataFrame, failures: list[_Failure]) -> str:
    """A fixed-width table of the first failures, so the error reads well in a terminal."""
    rows = [("column", "check", "row", "value")]
    for f in failures[:MAX_SHOWN]:
        row = "-" if f.pos is None else str(_label(frame, f.pos))
        value = "-" if f.pos is None and f.value is None else _show(f.value)
        rows.append((_short(str(f.column)), _short(f.check), _short(row, 20), value))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]
    if len(failures) > MAX_SHOWN:
        lines.append(f"  ... and {len(failures) - MAX_SHOWN} more")
    return "\n".join(lines)


def _fixes(failures: list[_Failure], quarantine_hint: bool) -> str:
    """How to fix what failed, most specific advice first."""
    fixes = []
    missing = sorted({str(f.column) for f in failures if f.check == _MISSING_COLUMN})
    extra = sorted({str(f.column) for f in failures if f.check == _EXTRA_COLUMN})
    typed = sorted(
        {
            str(f.column)
            for f in failures
            if f.pos is None and f.check.startswith(("dtype(", "coerce_dtype("))
        }
    )
    if missing:
        fixes.append(
            f"add the missing column(s) {', '.join(missing)} to the data, "
            "or mark them `required: false` in the schema"
        )
    if extra:
        fixes.append(
            f"drop the unexpected column(s) {', '.join(extra)}, add them to schema.columns, "
            "or set schema.strict=false"
        )
    if typed:
        fixes.append(
            f"correct the dtype of {', '.join(typed)} in the schema, convert the data, "
            "or set schema.coerce=true"
        )
    covered = {_MISSING_COLUMN, _EXTRA_COLUMN}
    if any(
        f.check not in covered and not (f.pos is None and str(f.column) in typed) for f in failures
    ):
        hint = ", or set schema.on_error=quarantine to set failing rows aside"
        fixes.append(
            "fix the data (or the schema rule, if the rule is wrong)"
            + (hint if quarantine_hint else "")
        )
    return "; ".join(fixes)


def _ordered(failures: list[_Failure]) -> list[_Failure]:
    """Whole-column failures first, then by row, so the table reads top to bottom."""
    return sorted(failures, key=lambda f: (f.pos is not None, -1 if f.pos is None else f.pos))


def _failures_frame(frame: pd.DataFrame, failures: list[_Failure]) -> pd.DataFrame:
    records = [
        {"column": f.column, "check": f.check, "row": _label(frame, f.pos), "value": f.value}
        for f in failures
    ]
    return pd.DataFrame(records, columns=list(FAILURE_COLUMNS), dtype=object)


def validate(
    frame: pd.DataFrame,
    schema_cfg: SchemaConfig | Mapping[Any, Any],
    *,
    source: str = "data",
    target: str | None = None,
    allow_empty: bool = False,
) -> ValidationResult:
    """Check `frame` against the schema config, collecting every failure before deciding.

    `on_error: fail` raises one MlconfError listing the failures; `on_error: quarantine`
    returns the coerced good rows and the failing rows with their reasons. Failures not tied
    to a row (missing column, column-level check) always raise, and so does a frame in which
    every row fails, unless `allow_empty` (a chunk of a stream may fail as a whole: batch
    scoring quarantines it and goes on). `source` names the data in messages.
    """
    cfg = _schema_config(schema_cfg)
    if cfg.on_error not in ON_ERROR:
        raise MlconfError(
            f"unknown on_error '{cfg.on_error}'.{did_you_mean(cfg.on_error, ON_ERROR)} "
            f"Allowed: {', '.join(ON_ERROR)}",
            where="schema.on_error",
            fix="set schema.on_error to fail or quarantine",
        )
    if len(frame) == 0:
        raise MlconfError(
            f"{source} has no rows to validate",
            where=f"validating {source}",
            fix="check the data source (path, query, filters)",
        )
    validator = _Validator(frame, cfg, target)
    n = len(frame)
    valid, found = validator.run(list(range(n)))
    failures = _ordered([validator.original(f) for f in found])
    where = f"validating {source} ({n} rows)"

    schema_level = [f for f in failures if f.pos is None]
    if failures and (cfg.on_error == "fail" or schema_level):
        n_rows = len({f.pos for f in failures if f.pos is not None})
        what = f"{len(failures)} schema failure(s)"
        if n_rows:
            what += f" in {n_rows} row(s)"
        if schema_level and cfg.on_error == "quarantine":
            what += (
                f"; {len(schema_level)} concern whole columns, not rows, and cannot be quarantined"
            )
        raise MlconfError(
            f"{what}:\n{_table(frame, failures)}",
            where=where,
            fix=_fixes(failures, quarantine_hint=not schema_level),
        )

    bad = {f.pos for f in failures if f.pos is not None}
    # Removing rows can expose new failures (e.g. order checks); repeat until the kept rows pass.
    for _ in range(10):
        if valid is not None:
            break
        keep = [p for p in range(n) if p not in bad]
        if not keep:
            break
        valid, more = validator.run(keep)
        more = [validator.original(f) for f in more]
        if any(f.pos is None for f in more) or (valid is None and not more):
            everything = _ordered(failures + more)
            raise MlconfError(
                f"after setting {len(bad)} failing row(s) aside, the rest still fails as a "
                f"whole:\n{_table(frame, everything)}",
                where=where,
                fix=_fixes(everything, quarantine_hint=False),
            )
        failures = _ordered(failures + more)
        bad |= {f.pos for f in more if f.pos is not None}
    if allow_empty and len(bad) == n:
        valid = frame.iloc[:0]
    if (len(bad) == n and not allow_empty) or valid is None:
        raise MlconfError(
            f"every row failed validation ({len(failures)} failures), nothing is left to use:\n"
            + _table(frame, failures),
            where=where,
            fix="check that schema.columns matches this data (dtypes, ranges, allowed values)",
        )

    keep = [p for p in range(n) if p not in bad]
    valid.index = frame.index[keep]
    return ValidationResult(
        valid=valid,
        quarantined=_quarantine(frame, failures, sorted(bad)),
        failures=_failures_frame(frame, failures),
        n_checked=n,
    )


def _quarantine(
    frame: pd.DataFrame, failures: list[_Failure], positions: list[int]
) -> pd.DataFrame:
    """The failing rows as they arrived, with where they were and every reason they failed."""
    reasons: dict[int, list[str]] = {p: [] for p in positions}
    for f in failures:
        if f.pos is not None:
            reasons[f.pos].append(f"{f.column}: {f.check} got {_show(f.value)}")
    out = frame.iloc[positions].copy()
    out[ROW_COLUMN] = [_label(frame, p) for p in positions]
    out[REASONS_COLUMN] = ["; ".join(reasons[p]) for p in positions]
    return out


# ---------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------


def _friendly(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime" if getattr(dtype, "tz", None) is None else str(dtype)
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "str"
    return str(dtype)


def infer_schema(frame: pd.DataFrame, *, max_allowed: int = 20) -> dict[str, Any]:
    """A starter schema from the data itself, so that writing one starts from facts.

    The observed ranges and value sets are only what occurred: review them before use.
    """
    columns: dict[str, dict[str, Any]] = {}
    for name in frame.columns:
        series = frame[name]
        dtype = _friendly(series)
        spec: dict[str, Any] = {"dtype": dtype, "nullable": bool(series.isna().any())}
        observed = series.dropna()
        if dtype in ("int", "float") and len(observed):
            low, high = float(observed.min()), float(observed.max())
            if math.isfinite(low):
                spec["min"] = math.floor(low)
            if math.isfinite(high):
                spec["max"] = math.ceil(high)
        if dtype in ("str", "category") and len(observed):
            distinct = pd.unique(observed)
            if len(distinct) <= max_allowed and all(isinstance(v, str) for v in distinct):
                spec["allowed"] = sorted(str(v) for v in distinct)
        if (
            dtype in ("str", "int")
            and len(series) > 20
            and not spec["nullable"]
            and series.is_unique
        ):
            spec["unique"] = True
        columns[str(name)] = spec
    return {"on_error": "fail", "coerce": True, "columns": columns}


class _FlowDict(dict[str, Any]):
    """A mapping written on one line, like the columns of conf/schema/cars.yaml."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _FlowDict) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(data.items()), flow_style=True)


_Dumper.add_representer(_FlowDict, _represent_flow)


def schema_yaml(schema: Mapping[str, Any], *, source: str) -> str:
    """The schema as YAML with a header that says where it came from and what to review."""
    body: dict[str, Any] = {k: v for k, v in schema.items() if k != "columns"}
    body["columns"] = {
        str(name): _FlowDict(spec or {}) for name, spec in (schema.get("columns") or {}).items()
    }
    origin = " ".join(str(source).split())
    header = (
        f"# Schema inferred from {origin} by mlconf.\n"
        "# Review it before use: min/max are the observed range rounded outward and `allowed`\n"
        "# lists only the values seen; widen them to what is valid, not just what occurred,\n"
        "# and set nullable: false where a value must always be present.\n"
    )
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + text
