"""Impact: usage and decisions per segment, agreement, production fairness, PII, integrity."""

from __future__ import annotations

from pathlib import Path

import pytest
from monitor_world import give_feedback, log_rows

from mlconf.config import FairnessConfig, SensitiveAttribute
from mlconf.core.errors import MlconfError
from mlconf.monitoring.impact import impact
from mlconf.monitoring.performance import labelled, read_predictions
from mlconf.store.model_registry import ModelRegistry

CLASSES = ["no", "yes"]


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    found = ModelRegistry(f"sqlite:///{tmp_path}/m.db")
    rows = []
    for i in range(120):
        group = "a" if i % 2 else "b"
        # group a gets "yes" far more often than group b
        prediction = "yes" if (group == "a" and i % 3) or (group == "b" and i % 10 == 0) else "no"
        contact = f"user{i}@example.com" if i % 4 == 0 else "none"
        rows.append(
            {
                "inputs": {"x1": i, "group": group, "contact": contact},
                "outputs": {"prediction": prediction},
            }
        )
    ids = log_rows(found, rows)
    give_feedback(found, ids[:100], [r["outputs"]["prediction"] for r in rows[:90]] + ["no"] * 10)
    return found


def test_usage_decisions_agreement_fairness_and_pii(registry: ModelRegistry) -> None:
    predictions = read_predictions(registry.engine, "world")
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES).frame
    conf = FairnessConfig(
        sensitive=[SensitiveAttribute(column="group"), SensitiveAttribute(column="sex")],
        min_group_size=10,
    )
    section, alerts = impact(
        predictions,
        rows,
        task="classification",
        classes=CLASSES,
        positive_class="yes",
        fairness_conf=conf,
        settings={"segment": "group"},
    )
    usage = section["usage"]
    assert usage["predictions"] == 120 and sum(usage["per_day"].values()) == 120
    by_segment = {s["segment"]: s["decisions"] for s in usage["segments"]}
    assert by_segment["a"]["yes"] > 0.6 and by_segment["b"]["yes"] == pytest.approx(0.2)
    assert section["agreement"]["rows"] == 100 and 0.9 <= section["agreement"]["agreement"] < 1
    fairness = section["fairness"]
    assert fairness["passed"] is False and "sex" in fairness["note"]
    parity = next(c for c in fairness["checks"] if c["name"] == "demographic_parity_difference")
    assert parity["value"] > 0.4
    assert any(a["kind"] == "fairness" and "demographic_parity" in a["message"] for a in alerts)
    (pii,) = section["security"]["pii"]
    assert (
        pii["column"] == "contact"
        and pii["kind"] == "email"
        and pii["examples_masked"][0].startswith("u***@")
    )
    assert any(a["kind"] == "security" for a in alerts)


def test_unknown_segment_column_is_named(registry: ModelRegistry) -> None:
    predictions = read_predictions(registry.engine, "world")
    with pytest.raises(MlconfError, match="segment column 'region'"):
        impact(
            predictions,
            predictions.iloc[:0],
            task="classification",
            classes=CLASSES,
            positive_class=None,
            fairness_conf=None,
            settings={"segment": "region"},
        )


def test_integrity_failure_is_an_alert(registry: ModelRegistry) -> None:
    predictions = read_predictions(registry.engine, "world")
    section, alerts = impact(
        predictions.iloc[:0],
        predictions.iloc[:0],
        task="classification",
        classes=CLASSES,
        positive_class=None,
        fairness_conf=None,
        integrity_of=("world@production", registry.url),
    )
    assert section["security"]["integrity"]["ok"] is False
    assert alerts[0]["kind"] == "security" and "integrity" in alerts[0]["message"]
