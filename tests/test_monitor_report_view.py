"""The monitoring report's sections read as tables, not as a JSON dump."""

from __future__ import annotations

from typing import Any

from mlconf.monitoring.section_view import cell, section_view

IMPACT = {
    "usage": {
        "predictions": 200,
        "decisions": {"no": 0.55, "yes": 0.45},
        "segments": [{"segment": "a", "predictions": 104}, {"segment": "b", "predictions": 96}],
    },
    "agreement": {"rows": 150, "agreement": 0.48},
    "security": {"integrity": {"ok": True, "model": "world:1"}},
    "alerts": [{"kind": "security", "level": "warn", "message": "pii seen", "numbers": {}}],
}
HEALTH = {
    "log": {"predictions": 200, "latency_ms": {"p50": 5.0, "p99": 9.5}},
    "slo": {
        "p99_ms": {"value": 9.5, "limit": 500.0, "passed": True},
        "error_rate": {"value": None, "limit": 0.01, "passed": None},
    },
    "server": None,
    "alerts": [],
}
FAIRNESS_CHECK = {
    "attribute": "group",
    "name": "accuracy_difference",
    "value": 0.105,
    "low": 0.01,
    "high": 0.2,
    "verdict": "cannot confirm",
    "statement": "accuracy_difference <= 0.1: cannot be confirmed on 64 rows; the interval "
    "0.01 to 0.2 crosses the limit",
}


def _tables(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["title"]: t for g in view["groups"] for t in g["tables"]}


def _facts(view: dict[str, Any]) -> dict[str, str]:
    return {k: v for g in view["groups"] for k, v in g["facts"]}


def test_nested_parts_become_titled_tables_not_dotted_keys() -> None:
    view = section_view("impact", IMPACT)
    tables = _tables(view)
    assert tables["decisions"]["columns"] == ["decision", "share"]
    assert tables["decisions"]["rows"] == [["no", "0.55"], ["yes", "0.45"]]
    assert tables["segments"]["rows"] == [["a", "104"], ["b", "96"]]
    titles = [g["title"] for g in view["groups"]]
    assert "agreement" in titles and not any("." in t for t in titles)
    agreement = next(g for g in view["groups"] if g["title"] == "agreement")
    assert agreement["facts"] == [("rows", "150"), ("agreement", "0.48")]
    assert "0.48 agree with the outcome on 150 labelled rows" in view["lead"]
    assert [a["message"] for a in view["alerts"]] == ["pii seen"]


def test_like_records_are_one_table_and_empty_values_are_left_out() -> None:
    view = section_view("health", HEALTH)
    levels = _tables(view)["service levels"]
    assert levels["columns"] == ["service level", "value", "limit", "passed"]
    assert levels["rows"][0] == ["p99_ms", "9.5", "500", "yes"]
    assert _tables(view)["latency (ms)"]["rows"] == [["p50", "5"], ["p99", "9.5"]]
    assert "server" not in _facts(view)
    assert view["lead"] == "200 predictions logged; p99 latency 9.5 ms; 1 of 1 service levels met"


def test_estimates_show_their_interval_and_long_text_goes_under_the_table() -> None:
    assert cell({"value": 0.48, "low": 0.39, "high": 0.55}) == "0.48 (0.39 to 0.55)"
    checks = _tables(section_view("fairness", {"rows": 64, "checks": [FAIRNESS_CHECK]}))["checks"]
    assert "statement" not in checks["columns"]
    assert checks["notes"] == [f"group accuracy_difference: {FAIRNESS_CHECK['statement']}"]
