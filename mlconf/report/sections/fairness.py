"""The fairness section: the model's figures per group of each sensitive attribute and each
limit checked against them."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, limit_text, table
from mlconf.report.run_files import plots_of
from mlconf.report.sections.not_run import not_run


def fairness_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("configured") is False:
        return {"present": False, "hint": not_run("fairness")}
    attributes = [a for a in doc.get("attributes") or [] if isinstance(a, dict)]
    groups = [g for g in doc.get("groups") or [] if isinstance(g, dict)]
    metric_names: list[str] = []
    for g in groups:
        metric_names += [
            k
            for k, v in g.items()
            if k not in ("attribute", "columns", "group", "count", "small", "note")
            and not isinstance(v, (dict, list))
            and k not in metric_names
        ]
    has_notes = any(g.get("note") for g in groups)
    group_rows = [
        {
            "attribute": g.get("attribute"),
            "group": g.get("group"),
            "count": g.get("count"),
            "small": "small: not compared" if g.get("small") else "",
            **{k: g.get(k) for k in metric_names},
            **({"note": g.get("note") or ""} if has_notes else {}),
        }
        for g in groups
    ]
    checks = []
    for check in doc.get("checks") or []:
        if isinstance(check, dict):
            passed = check.get("passed")
            limit = check.get("limit")
            checks.append(
                {
                    "name": str(check.get("name")),
                    "attribute": str(check.get("attribute") or ""),
                    "value": fmt(check.get("value")),
                    "all_groups": fmt(check.get("value_all_groups")),
                    "limit": limit_text(limit, check.get("limit_is")),
                    "passed": passed,
                    "verdict": "not checked" if passed is None else "pass" if passed else "FAIL",
                    "note": str(check.get("note") or ""),
                }
            )
    small = [g for g in groups if g.get("small")]
    return {
        "present": True,
        "attributes": [
            {
                "name": str(a.get("attribute")),
                "columns": fmt(a.get("columns") or []),
                "use_as_feature": bool(a.get("use_as_feature")),
                "groups": fmt(a.get("groups")),
                "small_groups": fmt(a.get("small_groups") or []) or "none",
            }
            for a in attributes
        ],
        "names": ", ".join(str(a.get("attribute")) for a in attributes) or "-",
        "part": doc.get("part") or "test",
        "rows": fmt(doc.get("rows")),
        "positive_class": doc.get("positive_class"),
        "min_group_size": fmt(doc.get("min_group_size")),
        "on_fail": doc.get("on_fail"),
        "groups": table(group_rows),
        "small": len(small),
        "small_names": [f"{g.get('attribute')}: {g.get('group')}" for g in small],
        "checks": checks,
        "failed": [c for c in checks if c["passed"] is False],
        "passed": doc.get("passed"),
        "notes": [str(doc["note"])] if doc.get("note") else [],
        "plots": plots_of(doc),
    }


def outcome(passed: bool | None) -> str:
    """The fairness verdict as one word, the same in the glance and the model card."""
    return "passed" if passed else "failed" if passed is False else "not checked"


def failed_checks(fairness: dict[str, Any]) -> list[str]:
    """The failed checks of a fairness section as `attribute: check value`."""
    return [f"{c['attribute']}: {c['name']} {c['value']}" for c in fairness["failed"]]
