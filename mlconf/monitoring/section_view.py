"""A monitoring section (performance, health, fairness, impact, or a plugin's) as tables.

A section is a nested dict made for monitoring.json. Shown as dotted keys
(`agreement.agreement 0.48`) it reads like a dump, so each part becomes what a reader
expects: single values in a two-column table, an estimate with its interval in one cell,
a list of records as a table, a dict of like records (service levels by name) as a table
with one row per name, and a small dict of numbers (latency percentiles) as one row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlconf.report.format import MAX_TABLE_ROWS, fmt

# Keys that are shown elsewhere (alerts have their own list) or only serve machines.
HIDDEN = frozenset({"alerts", "numbers"})
LONG_TEXT = 60  # a column with longer cells is shown as notes under its table
# Headings for the keys of mlconf's own sections; any other key is shown in words.
LABELS = {
    "slo": "service levels",
    "log": "prediction log",
    "latency_ms": "latency (ms)",
    "per_day": "predictions per day",
    "pii": "personal data in the inputs",
    "integrity": "model file integrity",
    "examples_masked": "examples (masked)",
    "value_all_groups": "value over all groups",
}
# The two columns of a dict of numbers (names -> values) in mlconf's own sections.
PAIRS = {
    "versions": ("model version", "predictions"),
    "per_day": ("day", "predictions"),
    "decisions": ("decision", "share"),
    "latency_ms": ("percentile", "milliseconds"),
    "skipped_reasons": ("reason", "rows"),
}


def words(key: Any) -> str:
    """A dict key as a heading: `true_positive_rate` -> `true positive rate`."""
    return LABELS.get(str(key), str(key).replace("_", " "))


def is_estimate(value: Any) -> bool:
    """`{value, low, high}` (and perhaps `part`, `rows`): a number with its interval."""
    return isinstance(value, dict) and "value" in value and bool(set(value) & {"low", "high"})


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _simple(value: Any) -> bool:
    """Fits in one cell: a scalar, an estimate or a short list of scalars."""
    if isinstance(value, list):
        return all(_scalar(v) for v in value)
    return _scalar(value) or is_estimate(value)


def cell(value: Any) -> str:
    """One value as table text; an estimate as `0.48 (0.39 to 0.55)`."""
    if is_estimate(value):
        text = fmt(value.get("value"))
        if value.get("low") is not None and value.get("high") is not None:
            text += f" ({fmt(value['low'])} to {fmt(value['high'])})"
        return text + (f", {value['part']}" if value.get("part") else "")
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return f"{len(value)} item(s)"
        shown = ", ".join(fmt(v) for v in value[:20])
        return shown + (f", ... ({len(value)} in all)" if len(value) > 20 else "")
    if isinstance(value, dict):
        return "; ".join(f"{words(k)} {cell(v)}" for k, v in value.items() if k not in HIDDEN)
    return fmt(value)


def _table(title: str, records: list[dict[str, Any]], first: str | None = None) -> dict[str, Any]:
    """Records as a table; columns empty in every row are left out, and long text (a
    verdict's statement) goes under the table as notes instead of squeezing the columns."""
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns and c not in HIDDEN]
    columns = [c for c in columns if any(r.get(c) not in (None, "", []) for r in records)]
    shown = records[:MAX_TABLE_ROWS]
    cells = {c: [cell(r.get(c)) for r in shown] for c in columns}
    long = [c for c in columns[1:] if max((len(t) for t in cells[c]), default=0) > LONG_TEXT]
    columns = [c for c in columns if c not in long]
    notes = [
        f"{' '.join(cells[c][i] for c in columns[:2])}: {cells[key][i]}"
        for key in long
        for i in range(len(shown))
        if cells[key][i] != "-"
    ]
    return {
        "title": title,
        "columns": [first if c == "_name" and first else words(c) for c in columns],
        "numeric": [all(_number(r.get(c)) for r in shown) for c in columns],
        "rows": [[cells[c][i] for c in columns] for i in range(len(shown))],
        "notes": notes,
        "more": max(0, len(records) - MAX_TABLE_ROWS),
    }


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _group(title: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """One heading's facts and tables, then a group per nested part that needs its own."""
    facts: list[tuple[str, str]] = []
    tables: list[dict[str, Any]] = []
    nested: list[dict[str, Any]] = []
    for key, value in data.items():
        if key in HIDDEN:
            continue
        name = words(key)
        if _simple(value):
            if value is not None and value != []:
                facts.append((name, cell(value)))
        elif isinstance(value, list):
            if all(isinstance(v, dict) for v in value):
                tables.append(_table(name, value))
            else:
                facts.append((name, cell(value)))
        elif isinstance(value, dict):
            parts = list(value.values())
            if parts and all(isinstance(v, dict) and all(map(_simple, v.values())) for v in parts):
                rows = [{"_name": k, **v} for k, v in value.items()]
                tables.append(_table(name, rows, first=_singular(name)))
            elif str(key) in PAIRS and all(_simple(v) for v in parts):
                left, right = PAIRS[str(key)]
                rows = [{"_name": k, right: v} for k, v in value.items()]
                tables.append(_table(name, rows, first=left))
            elif value:
                nested += _group(name if not title else f"{title}: {name}", value)
    here = {"title": title, "facts": facts, "tables": tables}
    return ([here] if facts or tables else []) + nested


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _lead_performance(data: dict[str, Any]) -> str:
    if data.get("overall") is None:
        return ""
    text = f"{data.get('metric')} on {fmt(data.get('labelled_rows'))} labelled rows: "
    text += cell(data["overall"])
    if data.get("baseline"):
        text += f"; at training {cell(data['baseline'])}"
    return text + ("; dropped beyond the tolerance" if data.get("dropped") else "; holding up")


def _lead_health(data: dict[str, Any]) -> str:
    log = data.get("log") or {}
    checks = [s for s in (data.get("slo") or {}).values() if isinstance(s, dict)]
    judged = [s for s in checks if s.get("passed") is not None]
    text = f"{fmt(log.get('predictions'))} predictions logged"
    latency = (log.get("latency_ms") or {}).get("p99")
    if latency is not None:
        text += f"; p99 latency {fmt(latency)} ms"
    if judged:
        text += f"; {sum(bool(s['passed']) for s in judged)} of {len(judged)} service levels met"
    return text


def _lead_fairness(data: dict[str, Any]) -> str:
    checks = data.get("checks") or []
    if not checks:
        return str(data.get("note") or "")
    verdicts: dict[str, int] = {}
    for check in checks:
        verdict = str(check.get("verdict") or ("met" if check.get("passed") else "broken"))
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    counts = ", ".join(f"{n} {v}" for v, n in verdicts.items())
    return f"{len(checks)} limit(s) on {fmt(data.get('rows'))} labelled rows: {counts}"


def _lead_impact(data: dict[str, Any]) -> str:
    usage, agreement = data.get("usage") or {}, data.get("agreement") or {}
    text = f"{fmt(usage.get('predictions'))} predictions"
    if agreement.get("agreement") is not None:
        text += (
            f"; {fmt(agreement['agreement'])} agree with the outcome on "
            f"{fmt(agreement.get('rows'))} labelled rows"
        )
    integrity = (data.get("security") or {}).get("integrity") or {}
    if "ok" in integrity:
        text += "; model file intact" if integrity["ok"] else "; model file CHANGED"
    return text


LEADS: dict[str, Callable[[dict[str, Any]], str]] = {
    "performance": _lead_performance,
    "health": _lead_health,
    "fairness": _lead_fairness,
    "impact": _lead_impact,
}


def section_view(name: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """What the template shows of one section: a one-line lead, groups of facts and tables,
    and the section's alerts."""
    data = data or {}
    lead = LEADS.get(name, lambda d: str(d.get("note") or ""))(data) if data else ""
    return {
        "name": name,
        "title": words(name).capitalize(),
        "empty": not data,
        "lead": lead,
        "groups": _group("", data),
        "alerts": list(data.get("alerts") or []),
    }
