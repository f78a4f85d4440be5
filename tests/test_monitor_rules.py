"""Rules on hand-made alerts, the clock and new labels; triggers run, failures recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from monitor_world import give_feedback, log_rows
from test_model_registry import add

from mlconf.core.errors import MlconfError
from mlconf.monitoring.rules import check_rules, evaluate_rules
from mlconf.store.model_registry import ModelRegistry


@dataclass
class Alert:  # the shape of mlconf.monitoring.command.Alert
    kind: str
    level: str
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    found = ModelRegistry(f"sqlite:///{tmp_path}/r.db")
    add(found, tmp_path, name="world")
    found.promote("world", 1, "production")
    return found


def test_alert_rules_fire_notifiers_and_record_why(registry: ModelRegistry, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    settings = {
        "rules": [
            {"when": "drift", "then": ["notify"]},
            {"name": "perf-warn", "when": "performance", "level": "warn", "then": ["notify"]},
            {"when": "health"},
        ],
        "notifiers": [{"name": "file", "path": str(path)}],
    }
    alerts = [
        Alert("drift", "warn", "x1 drifted a little", {"psi": 0.15}),
        Alert("drift", "alert", "x2 drifted", {"psi": 0.4}),
        Alert("performance", "warn", "accuracy dipped"),
    ]
    decisions = evaluate_rules(alerts, settings, registry, "world@production")
    fired = {d["rule"]: d for d in decisions}
    assert fired["drift"]["fired"] and fired["drift"]["alerts"] == 1  # only the alert level
    assert fired["perf-warn"]["fired"] and not fired["health"]["fired"]
    assert "no health alert" in fired["health"]["reason"]
    (action,) = fired["drift"]["actions"]
    assert action["trigger"] == "notify" and action["ok"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["rule"] for line in lines] == ["drift", "perf-warn"]
    assert lines[0]["alerts"][0]["numbers"] == {"psi": 0.4}


def test_schedule_and_cooldown_use_the_last_firing(registry: ModelRegistry) -> None:
    settings = {
        "rules": [
            {"when": "schedule", "every": "24h", "then": [{"name": "notify", "only": ["log"]}]}
        ]
    }
    now = datetime.now(UTC)
    (first,) = evaluate_rules(
        [], settings, registry, "world@production", now=now + timedelta(days=2)
    )
    assert first["fired"] and first["reason"].startswith("due")
    (again,) = evaluate_rules(
        [], settings, registry, "world@production", now=now + timedelta(days=2, hours=1)
    )
    assert not again["fired"] and "not due" in again["reason"]
    (later,) = evaluate_rules(
        [], settings, registry, "world@production", now=now + timedelta(days=3, hours=1)
    )
    assert later["fired"]
    cool = {"rules": [{"when": "drift", "cooldown": "6h", "then": ["notify"]}], "notifiers": []}
    alerts = [Alert("drift", "alert", "x")]
    assert evaluate_rules(alerts, cool, registry, "world", now=now)[0]["fired"]
    (held,) = evaluate_rules(alerts, cool, registry, "world", now=now + timedelta(hours=1))
    assert not held["fired"] and "cooldown" in held["reason"]


def test_labels_rule_counts_feedback_since_the_last_decision(registry: ModelRegistry) -> None:
    rows = [{"inputs": {"a": i}, "outputs": {"prediction": 1}} for i in range(5)]
    ids = log_rows(registry, rows)
    give_feedback(registry, ids, [1, 0, 1, 1, 0])
    calls: list[dict[str, Any]] = []

    def fake_retrain(model_ref: str, **kw: Any) -> dict[str, Any]:
        calls.append({"model_ref": model_ref, **kw})
        return {"decision": "kept"}

    settings = {
        "rules": [{"when": "labels", "min_labels": 5, "then": [{"name": "retrain", "margin": 0.1}]}]
    }
    (decision,) = evaluate_rules(
        [], settings, registry, "world@production", retrain_fn=fake_retrain
    )
    assert decision["fired"] and "5 new label(s)" in decision["reason"]
    assert decision["actions"] == [
        {"trigger": "retrain", "ok": True, "result": {"decision": "kept"}}
    ]
    assert calls[0]["settings"] == {"margin": 0.1} and "rule 'labels'" in calls[0]["reason"]
    registry.record("world", "retrain", {"decision": "kept"}, from_version=1)
    (after,) = evaluate_rules([], settings, registry, "world@production", retrain_fn=fake_retrain)
    assert not after["fired"] and "0 new label(s)" in after["reason"]


def test_a_failing_trigger_is_recorded_and_the_rest_run(registry: ModelRegistry) -> None:
    def broken(model_ref: str, **kw: Any) -> dict[str, Any]:
        raise MlconfError("no data", fix="x")

    settings = {"rules": [{"when": "drift", "then": ["retrain", "notify"]}], "notifiers": ["log"]}
    (decision,) = evaluate_rules(
        [{"kind": "drift", "level": "alert", "message": "m"}],
        settings,
        registry,
        "world",
        retrain_fn=broken,
    )
    assert [a["ok"] for a in decision["actions"]] == [False, True]
    assert "no data" in decision["actions"][0]["error"]


def test_bad_rules_are_named() -> None:
    with pytest.raises(
        MlconfError, match=r"unknown trigger 'retrian'\. Did you mean 'retrain'"
    ) as err:
        check_rules([{"when": "drift", "then": ["retrian"]}])
    assert "monitoring.rules[0].then" in err.value.render()
    with pytest.raises(MlconfError, match="min_labels"):
        check_rules([{"when": "labels"}])
    with pytest.raises(MlconfError, match="not a duration"):
        check_rules([{"when": "schedule", "every": "daily"}])
    with pytest.raises(MlconfError, match="unique"):
        check_rules([{"when": "drift"}, {"when": "drift"}])
    with pytest.raises(MlconfError, match="at least `when:`"):
        check_rules([{"then": ["notify"]}])
