"""Validating a frame: every failure collected, then bad rows stop the run or are set aside."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandera.errors import SchemaDefinitionError, SchemaErrors

from mlconf.config import SchemaConfig
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.ml.validation.coercion import coerce_cells
from mlconf.ml.validation.failures import Failure, dedupe, from_pandera, ordered, plain
from mlconf.ml.validation.messages import failures_frame, fixes, label, show, table
from mlconf.ml.validation.schema import build_schema, pandas_dtype
from mlconf.ml.validation.schema_config import schema_config

ON_ERROR: tuple[str, ...] = ("fail", "quarantine")
ROW_COLUMN = "_row"
REASONS_COLUMN = "_reasons"


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


class _Validator:
    """Runs the two passes (cell coercion, then pandera) over a frame with a positional index."""

    def __init__(self, frame: pd.DataFrame, cfg: SchemaConfig, target: str | None) -> None:
        self.frame = frame
        self.schema = build_schema(cfg, target=target)
        self.dtypes: dict[str, str] = {}
        if cfg.coerce:
            for name, spec in cfg.columns.items():
                dtype = pandas_dtype(name, spec)
                if dtype is not None:
                    self.dtypes[name] = dtype

    def run(self, positions: list[int]) -> tuple[pd.DataFrame | None, list[Failure]]:
        work = self.frame.iloc[positions].copy()
        work.index = pd.Index(positions)
        work, failures, broken = coerce_cells(work, self.dtypes)
        blanked = {(f.column, f.pos) for f in failures if f.pos is not None}
        try:
            out = self.schema.validate(work, lazy=True)
        except SchemaErrors as exc:
            # A blanked cell already failed for its value; what pandera says about the blank
            # is noise, and so is anything about a column that could not be converted.
            found = [
                f
                for f in from_pandera(exc)
                if f.column not in broken and (f.column, f.pos) not in blanked
            ]
            return None, dedupe(failures + found)
        except SchemaDefinitionError as exc:
            raise MlconfError(f"the schema cannot be applied: {exc}", where="schema") from exc
        return (out if not failures else None), dedupe(failures)

    def original(self, f: Failure) -> Failure:
        """Report the value as it was in the input, not after coercion."""
        if f.pos is None or f.column not in self.frame.columns:
            return dataclasses.replace(f, value=plain(f.value))
        column = self.frame[f.column]
        if isinstance(column, pd.DataFrame):
            return dataclasses.replace(f, value=plain(f.value))
        return dataclasses.replace(f, value=plain(column.iloc[f.pos]))


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
    cfg = schema_config(schema_cfg)
    _check_can_validate(frame, cfg, source)
    validator = _Validator(frame, cfg, target)
    n = len(frame)
    valid, found = validator.run(list(range(n)))
    failures = ordered([validator.original(f) for f in found])
    where = f"validating {source} ({n} rows)"
    _stop_unless_quarantined(frame, failures, cfg.on_error, where)
    valid, failures, bad = _set_rows_aside(validator, valid, failures, where)
    if allow_empty and len(bad) == n:
        valid = frame.iloc[:0]
    if (len(bad) == n and not allow_empty) or valid is None:
        raise MlconfError(
            f"every row failed validation ({len(failures)} failures), nothing is left to use:\n"
            + table(frame, failures),
            where=where,
            fix="check that schema.columns matches this data (dtypes, ranges, allowed values)",
        )

    keep = [p for p in range(n) if p not in bad]
    valid.index = frame.index[keep]
    return ValidationResult(
        valid=valid,
        quarantined=_quarantine(frame, failures, sorted(bad)),
        failures=failures_frame(frame, failures),
        n_checked=n,
    )


def _check_can_validate(frame: pd.DataFrame, cfg: SchemaConfig, source: str) -> None:
    """A bad on_error or an empty frame fails before any work, naming what to change."""
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


def _stop_unless_quarantined(
    frame: pd.DataFrame, failures: list[Failure], on_error: str, where: str
) -> None:
    """Raise on any failure under `fail`, and on whole-column failures, which no row explains."""
    schema_level = [f for f in failures if f.pos is None]
    if not failures or (on_error != "fail" and not schema_level):
        return
    n_rows = len({f.pos for f in failures if f.pos is not None})
    what = f"{len(failures)} schema failure(s)"
    if n_rows:
        what += f" in {n_rows} row(s)"
    if schema_level and on_error == "quarantine":
        what += f"; {len(schema_level)} concern whole columns, not rows, and cannot be quarantined"
    raise MlconfError(
        f"{what}:\n{table(frame, failures)}",
        where=where,
        fix=fixes(failures, quarantine_hint=not schema_level),
    )


def _set_rows_aside(
    validator: _Validator, valid: pd.DataFrame | None, failures: list[Failure], where: str
) -> tuple[pd.DataFrame | None, list[Failure], set[int]]:
    """Validate the rows that passed until they pass together: the valid frame (None if
    none is left), every failure and the failing positions.

    Removing rows can expose new failures (e.g. order checks), hence the repeats.
    """
    frame, n = validator.frame, len(validator.frame)
    bad = {f.pos for f in failures if f.pos is not None}
    for _ in range(10):
        if valid is not None:
            break
        keep = [p for p in range(n) if p not in bad]
        if not keep:
            break
        valid, more = validator.run(keep)
        more = [validator.original(f) for f in more]
        if any(f.pos is None for f in more) or (valid is None and not more):
            everything = ordered(failures + more)
            raise MlconfError(
                f"after setting {len(bad)} failing row(s) aside, the rest still fails as a "
                f"whole:\n{table(frame, everything)}",
                where=where,
                fix=fixes(everything, quarantine_hint=False),
            )
        failures = ordered(failures + more)
        bad |= {f.pos for f in more if f.pos is not None}
    return valid, failures, bad


def _quarantine(frame: pd.DataFrame, failures: list[Failure], positions: list[int]) -> pd.DataFrame:
    """The failing rows as they arrived, with where they were and every reason they failed."""
    reasons: dict[int, list[str]] = {p: [] for p in positions}
    for f in failures:
        if f.pos is not None:
            reasons[f.pos].append(f"{f.column}: {f.check} got {show(f.value)}")
    out = frame.iloc[positions].copy()
    out[ROW_COLUMN] = [label(frame, p) for p in positions]
    out[REASONS_COLUMN] = ["; ".join(reasons[p]) for p in positions]
    return out
