"""The exploration section: the profile of every column, the target, associations with it,
duplicates and outliers, and the profile's warnings."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, pct, rows_of, sample_sentence, table
from mlconf.report.run_files import as_dict, number, plots_of
from mlconf.report.sections.not_run import not_run


def eda_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("eda")}
    if doc.get("enabled") is False:
        return {
            "present": False,
            "hint": f"Not run in this experiment ({doc.get('reason') or 'explore.enabled=false'}).",
        }
    columns = doc.get("columns") or {}
    column_rows = []
    for name, info in columns.items():
        info = info if isinstance(info, dict) else {}
        column_rows.append(
            [
                str(name),
                fmt(info.get("kind")),
                pct(info.get("missing_share")),
                fmt(info.get("distinct")),
                column_summary(info),
            ]
        )
    shown, more = rows_of(column_rows)
    associations = [a for a in doc.get("associations") or [] if isinstance(a, dict)]
    associations.sort(key=lambda a: -abs(number(a.get("mutual_info")) or 0.0))
    target, classes = target_facts(doc.get("target"))
    return {
        "present": True,
        "rows": fmt(doc.get("rows")),
        "sampled": bool(doc.get("sampled")),
        "sampled_rows": fmt(doc.get("sampled_rows")),
        "sample": sample_sentence(doc.get("sample")),
        "columns": {"rows": shown, "more": more},
        "target": target,
        "classes": table(classes, ["value", "count", "share"]),
        "associations": table(associations[:30], ["feature", "mutual_info", "pearson", "spearman"]),
        "pairs": table(
            [p for p in doc.get("correlated_pairs") or [] if isinstance(p, dict)],
            ["a", "b", "correlation"],
        ),
        "counts": quality_counts(doc),
        "warnings": table(
            [w for w in doc.get("warnings") or [] if isinstance(w, dict)],
            ["column", "kind", "message"],
        ),
        "plots": plots_of(doc),
    }


def target_facts(target: Any) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The target's summary as facts, and its classes (classification) as table rows."""
    if not isinstance(target, dict):
        return [], []
    facts = [("Column", fmt(target.get("name"))), ("Missing values", fmt(target.get("missing")))]
    classes = [
        {"value": c.get("value"), "count": c.get("count"), "share": pct(c.get("share"))}
        for c in target.get("classes") or []
        if isinstance(c, dict)
    ]
    if classes:
        facts += [
            ("Classes", fmt(target.get("n_classes"))),
            ("Smallest class share", pct(target.get("minority_share"))),
            ("Largest / smallest class", fmt(target.get("imbalance_ratio"))),
        ]
    stats = target.get("stats")
    if isinstance(stats, dict):
        facts += [(str(k), fmt(v)) for k, v in stats.items()]
    return facts, classes


def quality_counts(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Duplicate rows and outliers as short sentences."""
    counts = []
    duplicates = doc.get("duplicates")
    if isinstance(duplicates, dict):
        share = pct(duplicates.get("share"))
        counts.append(("Duplicate rows", f"{fmt(duplicates.get('rows'))} ({share})"))
    outliers = doc.get("outliers")
    if isinstance(outliers, dict):
        per_column = as_dict(outliers.get("columns"))
        text = f"{fmt(outliers.get('rows'))} row(s) outside {outliers.get('method', '-')}"
        if per_column:
            text += f" ({fmt(per_column)})"
        counts.append(("Outliers", text))
    return counts


def column_summary(info: dict[str, Any]) -> str:
    stats = info.get("stats")
    if isinstance(stats, dict):
        keys = [k for k in ("mean", "std", "min", "median", "max") if k in stats] or list(stats)
        return ", ".join(f"{k} {fmt(stats[k])}" for k in keys[:6])
    top = info.get("top_values")
    if isinstance(top, dict):
        return ", ".join(f"{k} ({fmt(v)})" for k, v in list(top.items())[:5])
    if isinstance(top, list):
        parts = []
        for item in top[:5]:
            if isinstance(item, dict):
                parts.append(f"{fmt(item.get('value'))} ({fmt(item.get('count'))})")
            else:
                parts.append(fmt(item))
        return ", ".join(parts)
    return "-"
