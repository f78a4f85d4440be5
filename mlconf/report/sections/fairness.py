"""The fairness section: the model's figures per group of each sensitive attribute and each
limit checked against them."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, limit_text, table
from mlconf.report.run_files import plots_of
from mlconf.report.sections.not_run import not_run


def fairness_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("configured") is False:
        looks = doc.get("looks_sensitive") if isinstance(doc, dict) else None
        return {
            "present": False,
            "hint": not_run("fairness"),
            "looks_sensitive": [str(c) for c in looks or []],
        }
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
    checks = [_check_row(c, doc) for c in doc.get("checks") or [] if isinstance(c, dict)]
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
        "failed": [c for c in checks if c["verdict_key"] == "broken"],
        "unconfirmed": [c for c in checks if c["verdict_key"] == "cannot confirm"],
        "passed": doc.get("passed"),
        "confidence": fmt(doc.get("confidence")),
        "notes": [str(doc["note"])] if doc.get("note") else [],
        "plots": plots_of(doc),
    }


def _check_row(check: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """A check as shown: its gap with the interval, and the three-way verdict in words.

    A fairness.json written before gaps had intervals has no verdict: its estimate decides.
    """
    passed = check.get("passed")
    legacy = "not checked" if passed is None else "met" if passed else "broken"
    verdict = str(check.get("verdict") or legacy)
    low, high = check.get("low"), check.get("high")
    return {
        "name": str(check.get("name")),
        "attribute": str(check.get("attribute") or ""),
        "value": fmt(check.get("value")),
        "interval": f"{fmt(low)} .. {fmt(high)}" if low is not None and high is not None else "",
        "all_groups": fmt(check.get("value_all_groups")),
        "limit": limit_text(check.get("limit"), check.get("limit_is")),
        "passed": passed,
        "verdict": VERDICT_WORDS.get(verdict, verdict),
        "verdict_key": verdict,
        "statement": str(check.get("statement") or ""),
        "note": str(check.get("note") or ""),
    }


# The verdicts of fairness.json in the words of the report and the model card.
VERDICT_WORDS = {
    "met": "met",
    "broken": "FAIL (confirmed)",
    "cannot confirm": "cannot confirm",
    "not checked": "not checked",
}


def outcome(passed: bool | None) -> str:
    """The fairness verdict as one word, the same in the glance and the model card."""
    return "passed" if passed else "failed" if passed is False else "not checked"


def failed_checks(fairness: dict[str, Any]) -> list[str]:
    """The confirmed failures of a fairness section as `attribute: check value`."""
    return [f"{c['attribute']}: {c['name']} {c['value']}" for c in fairness["failed"]]


def unconfirmed_checks(fairness: dict[str, Any]) -> list[str]:
    """The checks the rows can confirm neither way, as `attribute: check value`."""
    return [f"{c['attribute']}: {c['name']} {c['value']}" for c in fairness["unconfirmed"]]
