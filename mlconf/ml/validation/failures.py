"""What failed, one record per cause: from pandera's report and from cell coercion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandera.errors import SchemaErrors

MISSING_COLUMN = "missing required column"
EXTRA_COLUMN = "column not in schema (strict)"
_RENAMED_CHECKS = {
    "column_in_dataframe": MISSING_COLUMN,
    "column_in_schema": EXTRA_COLUMN,
    "field_uniqueness": "unique",
}


@dataclass(frozen=True)
class Failure:
    column: str | None
    check: str
    pos: int | None  # position in the input frame; None for failures of the whole frame/column
    value: Any


def plain(value: Any) -> Any:
    """Python scalars for numpy ones and None for every kind of missing, for readable output."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if value is not None and not isinstance(value, str) and bool(pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    return value


def from_pandera(exc: SchemaErrors) -> list[Failure]:
    out: list[Failure] = []
    for row in exc.failure_cases.to_dict("records"):
        check = str(row.get("check"))
        check = _RENAMED_CHECKS.get(check, check)
        column = row.get("column")
        value = row.get("failure_case")
        index = row.get("index")
        if check in (MISSING_COLUMN, EXTRA_COLUMN):
            column, value = value, None
        pos = None if index is None or plain(index) is None else int(index)
        out.append(Failure(None if column is None else str(column), check, pos, value))
    return out


def dedupe(failures: list[Failure]) -> list[Failure]:
    """One failure per cause: a cell that did not convert or is missing fails once."""
    by_cell: dict[tuple[str | None, int], list[Failure]] = {}
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
    out: list[Failure] = []
    for f in failures:
        key = (f.column, f.check, f.pos, None if f.pos is not None else str(f.value))
        if id(f) in drop or key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def ordered(failures: list[Failure]) -> list[Failure]:
    """Whole-column failures first, then by row, so the table reads top to bottom."""
    return sorted(failures, key=lambda f: (f.pos is not None, -1 if f.pos is None else f.pos))
