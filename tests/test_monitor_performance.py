"""Performance from feedback on a real prediction log: the join, windows against the
baseline, unknown prediction ids, labels of the wrong type, a labels file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from monitor_world import give_feedback, log_rows

from mlconf.core.errors import MlconfError
from mlconf.monitoring.performance import baseline, labelled, performance, seconds
from mlconf.store.model_registry import ModelRegistry

CLASSES = ["no", "yes"]


def _accuracy(rows: Any, settings: dict[str, Any], **options: Any) -> tuple[dict, list]:
    """The performance section of the classification world by accuracy."""
    return performance(
        rows,
        metric="accuracy",
        task="classification",
        classes=CLASSES,
        **{"positive_class": None, "base": None, **options},
        settings=settings,
    )


def _rows(predictions: list[str]) -> list[dict]:
    return [
        {
            "inputs": {"x1": float(i), "group": "a" if i % 2 else "b"},
            "outputs": {
                "prediction": p,
                "probabilities": {
                    "no": 0.2 if p == "yes" else 0.8,
                    "yes": 0.8 if p == "yes" else 0.2,
                },
            },
            "latency": 2.0 + i % 5,
        }
        for i, p in enumerate(predictions)
    ]


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/m.db")


def test_windows_against_the_baseline_alert_on_a_drop(registry: ModelRegistry) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    preds = ["yes", "no"] * 40
    ids = log_rows(registry, _rows(preds), start=start, step=timedelta(minutes=30))
    # day one: all outcomes agree; day two: half of them are wrong
    outcomes = [
        p if i < 48 or i % 2 else ("no" if p == "yes" else "yes") for i, p in enumerate(preds)
    ]
    give_feedback(registry, ids, outcomes)
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    assert len(rows.frame) == 80 and rows.unknown_ids == 0
    base = {"part": "validation", "value": 0.95, "low": 0.9, "high": 0.99}
    section, alerts = _accuracy(
        rows,
        {"window": "1d", "min_rows": 10, "tolerance": 0.02},
        positive_class="yes",
        base=base,
    )
    # windows of one day from the first prediction: 48 half-hourly rows, then the other 32
    assert [w["rows"] for w in section["windows"]] == [48, 32]
    first, last = section["windows"][0], section["windows"][-1]
    assert first["value"] == pytest.approx(1.0) and not first["dropped"]
    assert last["value"] < 0.88 and last["dropped"]
    assert section["overall"]["low"] is not None
    (alert,) = [a for a in alerts if a["level"] == "alert"]
    assert alert["kind"] == "performance" and alert["numbers"]["limit"] == pytest.approx(0.88)
    json.dumps(section)  # JSON-able as written to monitoring.json


def test_unknown_ids_are_counted_and_duplicates_take_the_latest(registry: ModelRegistry) -> None:
    ids = log_rows(registry, _rows(["yes", "no", "yes"]))
    (other,) = log_rows(registry, _rows(["yes"]), model="other")
    give_feedback(
        registry, [ids[0], ids[0], ids[1], "no-such-id", other], ["no", "yes", "no", "yes", "no"]
    )
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    assert rows.unknown_ids == 1 and rows.duplicates == 1 and rows.feedback_rows == 5
    assert dict(zip(rows.frame["prediction_id"], rows.frame["outcome"], strict=True)) == {
        ids[0]: "yes",
        ids[1]: "no",
    }
    section, alerts = _accuracy(rows, {"min_rows": 1})
    assert section["unknown_prediction_ids"] == 1
    assert any("unknown prediction ids" in a["message"] for a in alerts)
    assert not any(a["level"] == "alert" for a in alerts)  # no baseline: nothing to drop below


def test_wrong_label_type_is_skipped_naming_the_label_and_the_classes(
    registry: ModelRegistry,
) -> None:
    ids = log_rows(registry, _rows(["yes", "no"]))
    give_feedback(registry, ids, ["yes", 3.5])
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    assert list(rows.frame["outcome"]) == ["yes"] and rows.skipped.total == 1
    assert (
        "3.5 is not one of the model's classes ['no', 'yes']"
        in (rows.skipped.examples[0]["reason"])
    )
    rows = labelled(registry.engine, "world", task="regression", classes=[])
    assert rows.skipped.reasons == {
        "outcome is not a number": 1,  # "yes"
        "logged prediction is not a number": 1,  # 3.5 is a number, its prediction "no" is not
    }


def test_labels_file_joined_on_prediction_id(registry: ModelRegistry, tmp_path: Path) -> None:
    ids = log_rows(registry, _rows(["yes", "no", "yes"]))
    labels = tmp_path / "labels.csv"
    labels.write_text("prediction_id,outcome\n" + f"{ids[0]},yes\n{ids[2]},no\nbogus,no\n")
    rows = labelled(
        registry.engine, "world", task="classification", classes=CLASSES, labels_file=labels
    )
    assert len(rows.frame) == 2 and rows.unknown_ids == 1 and "labels file" in rows.source
    (tmp_path / "bad.csv").write_text("id,label\n1,yes\n")
    with pytest.raises(MlconfError, match="lacks the column"):
        labelled(
            registry.engine,
            "world",
            task="classification",
            classes=CLASSES,
            labels_file=tmp_path / "bad.csv",
        )


def test_empty_feedback_is_a_note_not_an_error(registry: ModelRegistry) -> None:
    log_rows(registry, _rows(["yes"]))
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    section, alerts = _accuracy(rows, {})
    assert section["overall"] is None and alerts == [] and "no labelled" in section["notes"][0]


def test_baseline_reads_metrics_json(tmp_path: Path) -> None:
    metrics = {"validation": {"model": {"f1": {"value": 0.8, "low": 0.7, "high": 0.9}}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert baseline(tmp_path, "f1") == {"part": "validation", "value": 0.8, "low": 0.7, "high": 0.9}
    assert baseline(tmp_path, "roc_auc") is None and baseline(tmp_path / "x", "f1") is None


def test_durations() -> None:
    assert (
        seconds("24h", "x") == 86400 and seconds("every 30m", "x") == 1800 and seconds(5, "x") == 5
    )
    with pytest.raises(MlconfError, match="not a duration"):
        seconds("soon", "monitoring.rules[0].every")
