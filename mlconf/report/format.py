"""Values as short display text, shared by every report section, the model card and the
monitoring report, so a number reads the same wherever it is shown.

Everything here takes loose values read from JSON, YAML or CSV (None, NaN, bools, nested
dicts) and never raises on them: a report shows "-" rather than failing.
"""

from __future__ import annotations

import math
from typing import Any

from mlconf.core.secrets import mask_text

# Rows of a table shown in full; the rest are counted ("and N more").
MAX_TABLE_ROWS = 200

LIMIT_WORDS = {"maximum": "at most", "minimum": "at least"}


def fmt(value: Any, digits: int = 4) -> str:
    """A value as short text: numbers to `digits` significant figures, lists joined."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items())
    return str(value)


def pct(value: Any) -> str:
    """A share as a percentage with one decimal, or "-" for anything not a number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return "-"
    return f"{value:.1%}"


def interval(item: Any) -> str:
    """`low .. high` of a bootstrap interval, or "-" where either end is missing."""
    if not isinstance(item, dict) or item.get("low") is None or item.get("high") is None:
        return "-"
    return f"{fmt(item['low'])} .. {fmt(item['high'])}"


def bounds_text(bounds: dict[str, Any]) -> str:
    """A success criterion's `min`/`max` in words: `at least 0.9 and at most 1`."""
    parts = [
        f"{op} {fmt(bounds[key])}"
        for key, op in (("min", "at least"), ("max", "at most"))
        if bounds.get(key) is not None
    ]
    return " and ".join(parts) or "no bound"


def limit_text(limit: Any, kind: Any) -> str:
    """A fairness limit in words (`at most 0.1`), or that none was set."""
    if limit is None:
        return "none set"
    return f"{LIMIT_WORDS.get(str(kind), '')} {fmt(limit)}".strip()


def sample_sentence(note: Any) -> str:
    """A sample note (run_state.sample_note) as one sentence for a reader; '' when absent."""
    if not isinstance(note, dict) or not note.get("meaning"):
        return ""
    text = str(note["meaning"])
    text = text[:1].upper() + text[1:]
    if note.get("sampled"):
        text += (
            f". A share estimated from the sample is within ±{fmt(note.get('share_margin_95'))} "
            "of the share over all rows, 19 times in 20"
        )
    return f"{text}."


def redact(text: str) -> str:
    """Hide passwords in URLs (`postgresql://user:secret@host` -> `user:***@host`)."""
    return mask_text(text)


def rows_of(items: Any, limit: int = MAX_TABLE_ROWS) -> tuple[list[Any], int]:
    """At most `limit` items, and how many were left out."""
    items = list(items or [])
    return items[:limit], max(0, len(items) - limit)


def table(
    records: list[dict[str, Any]], columns: list[str] | None = None, *, flatten: bool = True
) -> dict[str, Any]:
    """A table of text cells from records, columns in order of first appearance.

    With `flatten`, nested dicts (a record's `metrics`) become columns of their own;
    without, they are shown as `key: value` text in one cell.
    """
    flat = [_flat(record) for record in records] if flatten else list(records)
    if columns is None:
        columns = []
        for row in flat:
            columns += [c for c in row if c not in columns]
    shown, more = rows_of(flat)
    return {
        "columns": columns,
        "rows": [[fmt(row.get(c)) for c in columns] for row in shown],
        "more": more,
    }


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if not isinstance(v, dict)}
    for value in record.values():
        if isinstance(value, dict):
            row.update(value)
    return row
