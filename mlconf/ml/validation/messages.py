"""Failures as people read them: a terminal table, advice on fixing, a failures frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlconf.ml.validation.failures import EXTRA_COLUMN, MISSING_COLUMN, Failure, plain

FAILURE_COLUMNS: tuple[str, ...] = ("column", "check", "row", "value")
MAX_SHOWN = 20


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(value: Any, limit: int = 40) -> str:
    if value is None:
        return "missing"
    return short(repr(value), limit)


def label(frame: pd.DataFrame, pos: int | None) -> Any:
    return None if pos is None else plain(frame.index[pos])


def table(frame: pd.DataFrame, failures: list[Failure]) -> str:
    """A fixed-width table of the first failures, so the error reads well in a terminal."""
    rows = [("column", "check", "row", "value")]
    for f in failures[:MAX_SHOWN]:
        row = "-" if f.pos is None else str(label(frame, f.pos))
        value = "-" if f.pos is None and f.value is None else show(f.value)
        rows.append((short(str(f.column)), short(f.check), short(row, 20), value))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]
    if len(failures) > MAX_SHOWN:
        lines.append(f"  ... and {len(failures) - MAX_SHOWN} more")
    return "\n".join(lines)


def fixes(failures: list[Failure], quarantine_hint: bool) -> str:
    """How to fix what failed, most specific advice first."""
    fixes = []
    missing = sorted({str(f.column) for f in failures if f.check == MISSING_COLUMN})
    extra = sorted({str(f.column) for f in failures if f.check == EXTRA_COLUMN})
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
    covered = {MISSING_COLUMN, EXTRA_COLUMN}
    if any(
        f.check not in covered and not (f.pos is None and str(f.column) in typed) for f in failures
    ):
        hint = ", or set schema.on_error=quarantine to set failing rows aside"
        fixes.append(
            "fix the data (or the schema rule, if the rule is wrong)"
            + (hint if quarantine_hint else "")
        )
    return "; ".join(fixes)


def failures_frame(frame: pd.DataFrame, failures: list[Failure]) -> pd.DataFrame:
    records = [
        {"column": f.column, "check": f.check, "row": label(frame, f.pos), "value": f.value}
        for f in failures
    ]
    return pd.DataFrame(records, columns=list(FAILURE_COLUMNS), dtype=object)
