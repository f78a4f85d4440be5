"""The data-quality section: the schema's rules in words and the rows validation set aside,
grouped by stage and reason, checked against the count in run.json."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import MAX_TABLE_ROWS, fmt, rows_of
from mlconf.report.run_files import RunFiles
from mlconf.report.sections.not_run import not_run


def quality_section(files: RunFiles, config: dict[str, Any], record: dict[str, Any]) -> dict:
    schema = config.get("schema") or {}
    rules = schema.get("columns") or {}
    frame = files.csv("data/quarantine.csv", usecols=["_stage", "_reason"])
    reasons: list[dict[str, Any]] = []
    total = 0
    missing_reason = 0
    if frame is not None:
        total = len(frame)
        if "_reason" in frame:
            reason = frame["_reason"].fillna("").astype(str)
            missing_reason = int((reason.str.strip() == "").sum())
            stage = frame["_stage"].astype(str) if "_stage" in frame else reason.map(lambda _: "-")
            grouped = (
                frame.assign(_reason=reason, _stage=stage)
                .groupby(["_stage", "_reason"], sort=False)
                .size()
                .sort_values(ascending=False)
            )
            reasons = [{"stage": s, "reason": r, "rows": int(n)} for (s, r), n in grouped.items()]
    shown, more = rows_of(reasons, 50)
    counted = (record.get("counts") or {}).get("quarantined_rows")
    return {
        "validated": "validate" in (record.get("stages") or {}),
        "on_error": schema.get("on_error", "fail"),
        "rules": len(rules),
        "rule_rows": [
            (name, schema_rule_text(rule))
            for name, rule in list(rules.items())[:MAX_TABLE_ROWS]
            if isinstance(rule, dict)
        ],
        "quarantined": total,
        "quarantine_file": frame is not None,
        "reasons": shown,
        "more_reasons": more,
        "missing_reason": missing_reason,
        "count_matches": counted is None or counted == total,
        "hint": None if frame is not None else not_run("quarantine"),
    }


def schema_rule_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("dtype"):
        parts.append(str(rule["dtype"]))
    if rule.get("nullable") is False:
        parts.append("required value")
    if rule.get("unique"):
        parts.append("unique")
    for key, word in (("min", ">="), ("max", "<=")):
        if rule.get(key) is not None:
            parts.append(f"{word} {fmt(rule[key])}")
    if rule.get("allowed"):
        parts.append(f"one of {fmt(rule['allowed'])}")
    if rule.get("regex"):
        parts.append(f"matches {rule['regex']}")
    parts += [f"check {c.get('name')}" for c in rule.get("checks") or [] if isinstance(c, dict)]
    return "; ".join(parts) or "any value"
