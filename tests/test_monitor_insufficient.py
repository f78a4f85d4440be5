"""Drift on a handful of rows is "insufficient data", never an alert (issue 20).

A new user's first `mlconf monitor window=7d` over 3 logged predictions used to report
most features drifted and exit 1: 3 rows say nothing about a distribution.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TRACEBACK, cli, output_of
from monitor_world import serve_world, train_champion, world

from mlconf.config.monitoring import MonitoringConfig
from mlconf.core.errors import MlconfError
from mlconf.ml.reference import build_reference
from mlconf.monitoring.drift import INSUFFICIENT, feature_drift, prediction_drift
from mlconf.monitoring.settings import load_settings


def _reference(rows: int = 500) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "y": rng.normal(size=rows),
            "c": rng.choice(["a", "b", "c"], size=rows),
        }
    )
    return frame, build_reference(frame, ["x", "y", "c"], task="regression")


def _shifted(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """`rows` rows far away from training on every feature."""
    return frame.head(rows).assign(x=lambda f: f.x + 10, y=lambda f: f.y + 10, c="a")


def test_three_rows_are_insufficient_data_and_raise_no_alert() -> None:
    frame, reference = _reference()
    summary, alerts = feature_drift(reference, _shifted(frame, 3), MonitoringConfig())
    assert alerts == []
    assert summary["status"] == INSUFFICIENT and summary["share_level"] == INSUFFICIENT
    assert summary["drifted"] == [] and summary["compared"] == 0
    assert "3 current rows, fewer than drift.min_rows=30" in summary["note"]
    assert sorted(summary["insufficient"]) == ["c", "x", "y"]
    for row in summary["features"]:
        assert row["level"] == INSUFFICIENT and not row["drifted"] and row["tests"] == {}


def test_enough_rows_drift_as_before() -> None:
    frame, reference = _reference()
    summary, alerts = feature_drift(reference, _shifted(frame, 200), MonitoringConfig())
    assert sorted(summary["drifted"]) == ["c", "x", "y"]
    assert summary["status"] == "alert" and summary["insufficient"] == []
    assert "note" not in summary
    assert any(a.level == "alert" for a in alerts)


def test_min_rows_zero_judges_any_number_of_rows() -> None:
    frame, reference = _reference()
    config = load_settings(["drift.min_rows=0", "drift.min_rows_per_feature=0"])
    summary, alerts = feature_drift(reference, _shifted(frame, 3), config)
    assert summary["insufficient"] == [] and summary["drifted"]
    assert any(a.kind == "drift" and a.level == "alert" for a in alerts)


def test_a_feature_with_few_values_is_insufficient_and_the_others_are_judged() -> None:
    frame, reference = _reference()
    current = _shifted(frame, 200)
    current.loc[current.index[10:], "y"] = np.nan  # 10 non-missing values of y
    summary, alerts = feature_drift(reference, current, MonitoringConfig())
    rows = {r["feature"]: r for r in summary["features"]}
    assert rows["y"]["level"] == INSUFFICIENT and rows["y"]["rows"] == 10
    assert "fewer than drift.min_rows_per_feature=30" in rows["y"]["note"]
    assert summary["insufficient"] == ["y"] and "note" not in summary
    assert sorted(summary["drifted"]) == ["c", "x"] and summary["compared"] == 2
    assert not any(a.numbers.get("feature") == "y" for a in alerts)


def test_prediction_drift_on_three_rows_is_insufficient() -> None:
    scores = np.random.default_rng(1).normal(size=300)
    reference = build_reference(pd.DataFrame({"s": scores}), ["s"], task="regression")
    reference["prediction"] = {"score": reference["columns"]["s"]}
    found, alerts = prediction_drift(reference, None, scores[:3] + 50, MonitoringConfig())
    assert found is not None and found["level"] == INSUFFICIENT and alerts == []


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("drift.min_rows=-1", "monitoring.drift.min_rows"),
        ("drift.min_rows_per_feature=-5", "monitoring.drift.min_rows_per_feature"),
        ("drift.min_rows=2.5", "monitoring.drift.min_rows"),
        ("drift.min_rows_per_feature=many", "monitoring.drift.min_rows_per_feature"),
    ],
)
def test_bad_minimums_are_refused_naming_the_key(override: str, key: str) -> None:
    with pytest.raises(MlconfError) as caught:
        load_settings([override])
    assert key in caught.value.render()


def test_a_python_caller_s_bad_minimum_is_refused_naming_the_key() -> None:
    config = MonitoringConfig()
    config.drift.min_rows = 2.5  # type: ignore[assignment]
    with pytest.raises(MlconfError, match="whole number") as caught:
        load_settings(config)
    assert "monitoring.drift.min_rows" in caught.value.render()


def test_shipped_defaults_are_30_rows() -> None:
    drift = load_settings().drift
    assert (drift.min_rows, drift.min_rows_per_feature) == (30, 30)


@pytest.mark.slow
def test_cli_monitor_of_three_logged_predictions_says_insufficient_data(tmp_path: Path) -> None:
    registry, _ = train_champion(tmp_path)
    serve_world(registry, world(3, changed=True, seed=5).assign(x1=50.0, x2=-50.0, group="b"))
    out = tmp_path / "out"
    base = ["model=world@production", f"registry_url={registry.url}", "window=7d"]
    proc = cli(["monitor", *base, f"out={out}"], cwd=tmp_path)
    assert proc.returncode == 0, output_of(proc)
    assert TRACEBACK not in output_of(proc)
    assert "insufficient data" in proc.stdout and "drift.min_rows=30" in proc.stdout
    saved = json.loads((out / "monitoring.json").read_text())
    assert saved["drift"]["status"] == INSUFFICIENT
    assert {r["level"] for r in saved["drift"]["features"]} == {INSUFFICIENT}
    assert not [a for a in saved["alerts"] if a["kind"] == "drift"]
    assert saved["prediction_drift"]["level"] == INSUFFICIENT
    html = (out / "monitoring_report.html").read_text()
    assert 'id="drift-insufficient"' in html and "insufficient data" in html
    # with the minimums off, the same 3 rows raise drift alerts (today's behaviour)
    off = ["drift.min_rows=0", "drift.min_rows_per_feature=0", f"out={tmp_path / 'off'}"]
    judged = cli(["monitor", *base, *off], cwd=tmp_path)
    assert judged.returncode == 1, output_of(judged)
