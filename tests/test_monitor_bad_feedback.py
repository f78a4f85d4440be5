"""Stored feedback that does not fit the model (written by an older server straight into
the real SQLite `prediction_feedback` table) is skipped, counted and reported: monitoring,
its report, its history row, its notifications and retraining go on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from monitor_world import give_feedback, log_rows, serve_world, train_champion, world

from mlconf.cli.main import main as cli
from mlconf.monitoring import history
from mlconf.monitoring.command import run_monitor
from mlconf.monitoring.performance import labelled, performance
from mlconf.store.model_registry import ModelRegistry
from mlconf.store.schema import prediction_feedback as feedback

CLASSES = ["no", "yes"]
HUGE = '"' + "x" * 900_000 + '"'
# JSON texts as an old /feedback stored them for a yes/no model, and why each does not fit
BAD_LABELS = {
    '"maybe"': "outcome is not one of the classes",
    '"Benign"': "outcome is not one of the classes",
    "1": "outcome is not one of the classes",
    "true": "outcome is not one of the classes",
    '{"label": "yes"}': "outcome is not one of the classes",
    '["yes"]': "outcome is not one of the classes",
    HUGE: "outcome is not one of the classes",
    "NaN": "outcome is not one of the classes",
    "not json {": "outcome is not JSON",
    '"\\u202eyes"': "outcome is not one of the classes",  # a right-to-left override
}
BAD_NUMBERS = ['"abc"', '"NaN"', "NaN", "Infinity", "-Infinity", "1e999", "true", "null", "[1]"]


def store_raw(registry: ModelRegistry, pairs: list[tuple[str, str]]) -> None:
    """Write (prediction_id, outcome JSON text) rows as an old server did: no checks."""
    with registry.engine.begin() as conn:
        conn.execute(
            feedback.insert(),
            [
                {"prediction_id": pid, "outcome": text, "created_at": datetime.now(UTC)}
                for pid, text in pairs
            ],
        )


def _logged(registry: ModelRegistry, predictions: list[Any], **kw: Any) -> list[str]:
    rows = [
        {"inputs": {"x1": float(i)}, "outputs": {"prediction": p}}
        for i, p in enumerate(predictions)
    ]
    return log_rows(registry, rows, **kw)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/m.db")


def test_labels_that_are_not_classes_are_skipped_counted_and_shown(
    registry: ModelRegistry,
) -> None:
    ids = _logged(registry, ["yes", "no"] * 10)
    give_feedback(registry, ids[:10], ["yes", "no"] * 5)
    store_raw(registry, list(zip(ids[10:], BAD_LABELS, strict=False)))
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    assert len(rows.frame) == 10 and list(rows.frame["outcome"]) == ["yes", "no"] * 5
    assert rows.skipped.total == len(BAD_LABELS)
    assert rows.skipped.reasons == {
        "outcome is not one of the classes": len(BAD_LABELS) - 1,
        "outcome is not JSON": 1,
    }
    reasons = " | ".join(e["reason"] for e in rows.skipped.examples)
    assert "did you mean 'yes'" not in reasons  # "Benign" is not a case variant of a class
    assert "is a JSON object" in reasons and "is a JSON array" in reasons
    assert "is a JSON boolean" in reasons and "(the prediction of version 1)" in reasons
    assert max(len(e["value"]) for e in rows.skipped.examples) < 200  # 900 KB shown short
    assert "900,002 characters" in reasons
    section, alerts = performance(
        rows,
        metric="accuracy",
        task="classification",
        classes=CLASSES,
        positive_class="yes",
        base=None,
        settings={"min_rows": 5},
    )
    assert section["skipped_feedback"] == len(BAD_LABELS) and section["overall"]["value"] == 1.0
    (warn,) = [a for a in alerts if "skipped" in a["message"]]
    assert warn["level"] == "warn" and warn["numbers"]["skipped_feedback"] == len(BAD_LABELS)
    assert len(warn["message"]) < 1000
    json.dumps(section, allow_nan=False)


def test_wrong_case_of_a_multiclass_label_names_the_class(registry: ModelRegistry) -> None:
    classes = ["benign", "malignant", "unknown"]
    ids = _logged(registry, ["benign", "malignant"])
    store_raw(registry, [(ids[0], '"Benign"'), (ids[1], '"malignant"')])
    rows = labelled(registry.engine, "world", task="classification", classes=classes)
    assert list(rows.frame["outcome"]) == ["malignant"] and rows.skipped.total == 1
    assert (
        "did you mean 'benign'? (classes are case-sensitive)" in rows.skipped.examples[0]["reason"]
    )


def test_regression_outcomes_must_be_finite_numbers(registry: ModelRegistry) -> None:
    ids = _logged(registry, [10.0] * (len(BAD_NUMBERS) + 2))
    store_raw(
        registry, [(ids[0], "12.5"), (ids[1], '"7"'), *zip(ids[2:], BAD_NUMBERS, strict=True)]
    )
    rows = labelled(registry.engine, "world", task="regression", classes=[])
    assert list(rows.frame["outcome"]) == [12.5, 7.0]
    assert rows.skipped.reasons == {
        "outcome is not a number": 4,  # "abc", true (never 1.0), null, [1]
        "outcome is not a finite number": 5,  # "NaN", NaN, Infinity, -Infinity, 1e999
    }
    reasons = " | ".join(e["reason"] for e in rows.skipped.examples)
    assert "is a JSON boolean, but the model is a regression" in reasons
    assert "is inf: not a finite number" in reasons and "is nan: not a finite number" in reasons


def test_rows_of_an_older_version_with_other_classes_are_skipped(
    registry: ModelRegistry,
) -> None:
    """Version 1 predicted cat/dog and got right labels; version 2 (yes/no) is monitored."""
    old = _logged(registry, ["cat", "dog", "mouse"], version="1")
    new = _logged(registry, ["yes"], version="2")
    give_feedback(registry, [*old, *new], ["cat", "dog", "yes", "no"])
    rows = labelled(registry.engine, "world", task="classification", classes=CLASSES)
    assert list(rows.frame["prediction_id"]) == [new[0]]
    assert rows.skipped.reasons == {
        "outcome is not one of the classes": 2,
        "logged prediction is not one of the classes": 1,
    }
    assert (
        "'cat' is not one of the model's classes ['no', 'yes'] (the prediction of version 1)"
        in (rows.skipped.examples[0]["reason"])
    )


def _regression_rows(registry: ModelRegistry, errors: list[float]) -> Any:
    start = datetime.now(UTC) - timedelta(minutes=len(errors) + 1)
    ids = _logged(registry, [100.0] * len(errors), start=start)
    give_feedback(registry, ids, [100.0 + e for e in errors])
    return labelled(registry.engine, "world", task="regression", classes=[])


def _rmse(rows: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return performance(
        rows,
        metric="rmse",
        task="regression",
        classes=[],
        positive_class=None,
        base={"part": "validation", "value": 10.0, "low": 8.0, "high": 12.0},
        settings={"window": "1d", "min_rows": 30, "tolerance": 1.0, "bootstrap": 20},
    )


def test_one_huge_regression_outcome_keeps_the_performance_alert(
    registry: ModelRegistry,
) -> None:
    section, alerts = _rmse(_regression_rows(registry, [150.0] * 40))
    (alert,) = [a for a in alerts if a["level"] == "alert"]
    assert "rmse rose to 150" in alert["message"] and "fell" not in alert["message"]

    section, alerts = _rmse(_regression_rows(registry, [150.0] * 40 + [1e160]))
    overall = section["overall"]
    assert overall["value"] == pytest.approx(1e160 / 81**0.5, rel=1e-6)
    assert overall["low"] is not None and overall["high"] is not None
    (alert,) = [a for a in alerts if a["level"] == "alert"]
    assert "rmse rose to 1.111e+159" in alert["message"]
    json.dumps(section, allow_nan=False)


def test_a_metric_that_cannot_be_computed_says_why(registry: ModelRegistry) -> None:
    rows = _regression_rows(registry, [1.0] * 40)
    section, alerts = performance(
        rows,
        metric="r2",
        task="regression",
        classes=[],
        positive_class=None,
        base=None,
        settings={"min_rows": 1, "window": "1d"},
    )
    assert section["overall"]["value"] is not None  # constant target: r2 is defined (0)
    one = _logged(registry, ["yes"], model="single")
    give_feedback(registry, one, ["yes"])
    rows = labelled(registry.engine, "single", task="classification", classes=CLASSES)
    section, alerts = performance(
        rows,
        metric="roc_auc",
        task="classification",
        classes=CLASSES,
        positive_class="yes",
        base=None,
        settings={"min_rows": 1, "window": "1d"},
    )
    window = section["windows"][0]
    assert window["value"] is None and "not a finite number" in window["reason"]
    (warn,) = [a for a in alerts if "could not be computed" in a["message"]]
    assert warn["level"] == "warn"


@pytest.mark.slow
def test_bad_stored_feedback_never_stops_mlconf_monitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, _ = train_champion(tmp_path)
    shifted = world(120, changed=True, seed=7)
    ids = serve_world(registry, shifted)
    give_feedback(registry, ids[:100], shifted["y"].tolist()[:100])
    (other,) = log_rows(
        registry, [{"inputs": {"x1": 0.0}, "outputs": {"prediction": 3.0}}], model="other"
    )
    store_raw(registry, [*zip(ids[100:], BAD_LABELS, strict=False), (other, '"maybe"')])
    current = tmp_path / "current.csv"
    shifted.drop(columns=["y"]).to_csv(current, index=False)
    settings = {
        "performance": {"window": "1h", "min_rows": 20},
        "rules": [
            {"when": "performance", "then": ["notify", {"name": "retrain", "margin": 0.0}]},
        ],
        "notifiers": [{"name": "file", "path": str(tmp_path / "alerts.jsonl")}],
        "retrain": {"feedback_share": 0.8},
    }
    for name, source in (("file", {"current": current}), ("log", {"window": "7d"})):
        result = run_monitor(
            "world@production",
            registry_url=registry.url,
            out_dir=tmp_path / name,
            settings=settings,
            **source,
        )
        perf = result.summary["sections"]["performance"]
        assert perf["skipped_feedback"] == len(BAD_LABELS) and perf["labelled_rows"] == 100
        assert any("skipped" in a.message for a in result.alerts)
        text = (tmp_path / name / "monitoring.json").read_text()
        json.loads(text, parse_constant=pytest.fail)  # strict JSON
        html = (tmp_path / name / "monitoring_report.html").read_text()
        assert "Skipped examples" in html and "x" * 2000 not in html
        assert "\u202e" not in html  # a stored label never reorders the page
    (decision,) = result.summary["decisions"]
    retrained = decision["actions"][1]
    assert retrained["ok"], retrained
    assert retrained["result"]["decision"] in ("promoted", "kept")
    assert len(history.runs(registry.engine, "world")) == 2
    line = json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[0])
    assert line["rule"] == "performance"

    folder = registry.resolve("world@production").model_dir  # a folder: no rules, no retrain
    code = cli(
        [
            "monitor",
            f"model={folder}",
            f"registry_url={registry.url}",
            "last=50",
            f"out={tmp_path / 'watch'}",
            "--watch",
            "times=1",
        ]
    )
    printed = capsys.readouterr()
    assert code in (0, 1) and "error" not in printed.err
    summary = json.loads((tmp_path / "watch" / "0001" / "monitoring.json").read_text())
    assert summary["sections"]["performance"]["skipped_feedback"] == len(BAD_LABELS)
