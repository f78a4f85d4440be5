"""The rules' outcome as a monitoring run shows it: one line per rule, and every trigger
or notification that failed listed apart, so that a lost alert is never silent."""

from __future__ import annotations

from typing import Any

from mlconf.monitoring.decisions import action_text, decisions_section, delivery_failures

NOTIFY_PARTLY_FAILED: dict[str, Any] = {
    "trigger": "notify",
    "ok": True,
    "result": {
        "sent": [
            {"notifier": "log", "ok": True},
            {"notifier": "webhook", "ok": False, "error": "HTTP 404\nbody"},
        ]
    },
}
RETRAIN_KEPT: dict[str, Any] = {
    "trigger": "retrain",
    "ok": True,
    "result": {"decision": "kept", "why": "not better"},
}
FAILED: dict[str, Any] = {"trigger": "retrain", "ok": False, "error": "no run folder\ntrace"}


def test_each_action_reads_as_one_line() -> None:
    assert action_text(NOTIFY_PARTLY_FAILED) == "notify: webhook failed: HTTP 404"
    assert action_text(RETRAIN_KEPT) == "retrain: kept (not better)"
    assert action_text(FAILED) == "retrain failed: no run folder"
    assert action_text({"trigger": "notify", "ok": True, "result": {"sent": []}}) == "notify: ok"


def test_failed_triggers_and_undelivered_notifications_are_listed() -> None:
    decisions = [{"rule": "drift", "actions": [NOTIFY_PARTLY_FAILED, RETRAIN_KEPT, FAILED]}]
    assert delivery_failures(decisions) == [
        {"rule": "drift", "action": "notify webhook", "error": "HTTP 404\nbody"},
        {"rule": "drift", "action": "retrain", "error": "no run folder\ntrace"},
    ]


def test_the_section_says_why_an_unregistered_model_has_no_rules() -> None:
    decision = {"rule": "drift", "fired": True, "reason": "2 alerts", "actions": [RETRAIN_KEPT]}
    section = decisions_section([decision], version=None)
    assert section["note"] == "rules run for registered models (NAME@ALIAS) only"
    assert section["rules"] == [
        {
            "rule": "drift",
            "fired": True,
            "reason": "2 alerts",
            "actions": "retrain: kept (not better)",
        }
    ]
