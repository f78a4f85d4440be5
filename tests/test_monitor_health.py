"""Health from the prediction log and the server's /metrics text, against SLOs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitor_world import log_rows

from mlconf.core.errors import MlconfError
from mlconf.monitoring.health import health, parse_metrics, server_counters
from mlconf.monitoring.performance import read_predictions
from mlconf.serve.metrics import Metrics
from mlconf.store.model_registry import ModelRegistry


def _metrics_text() -> str:
    metrics = Metrics()
    for _ in range(95):
        metrics.observe("POST", "/predict", 200, 0.004)
    for _ in range(3):
        metrics.observe("POST", "/predict", 500, 0.01)
    metrics.observe("POST", "/predict", 401, 0.001)
    metrics.observe("POST", "/predict", 413, 0.001)
    metrics.error("unauthorized")
    metrics.error("too_large")
    metrics.error("model_error")
    return metrics.render(lambda: [("ready", "gauge", "ready", {}, 1.0)])


def test_server_counters_from_the_real_exposition_text() -> None:
    text = _metrics_text()
    assert ("mlconf_serve_ready", {}, 1.0) in parse_metrics(text)
    counters = server_counters(text)
    assert counters["requests"] == 100 and counters["server_errors"] == 3
    assert counters["error_rate"] == pytest.approx(0.03)
    assert counters["unauthorized"] == 1 and counters["rejected"] == 2
    assert counters["errors_by_type"] == {"model_error": 1, "too_large": 1, "unauthorized": 1}
    assert counters["ready"] is True


def test_latency_throughput_and_slo_breaches(tmp_path: Path) -> None:
    registry = ModelRegistry(f"sqlite:///{tmp_path}/m.db")
    start = datetime.now(UTC) - timedelta(minutes=10)
    rows = [
        {"inputs": {"x": i}, "outputs": {"prediction": 1}, "latency": float(i)}
        for i in range(1, 101)
    ]
    log_rows(registry, rows, start=start, step=timedelta(seconds=6))
    predictions = read_predictions(registry.engine, "world")
    section, alerts = health(
        predictions,
        {"p99_ms": 50, "error_rate": 0.01, "min_throughput": 100},
        metrics_text=_metrics_text(),
    )
    latency = section["log"]["latency_ms"]
    assert latency["p50"] == pytest.approx(50.5) and latency["p99"] == pytest.approx(99.01)
    assert section["log"]["throughput_per_min"] == pytest.approx(100 / 9.9, rel=0.01)
    assert section["log"]["longest_gap_s"] == pytest.approx(6.0)
    assert {k: v["passed"] for k, v in section["slo"].items()} == {
        "p99_ms": False,
        "error_rate": False,
        "min_throughput": False,
    }
    assert len(alerts) == 3 and all(a["kind"] == "health" for a in alerts)
    ok, quiet = health(predictions, {"p99_ms": 1000, "error_rate": 0.05})
    assert quiet == [] and ok["slo"]["error_rate"]["passed"] is None  # no server counters


def test_empty_log_and_unreachable_server(tmp_path: Path) -> None:
    registry = ModelRegistry(f"sqlite:///{tmp_path}/m.db")
    section, alerts = health(read_predictions(registry.engine, "world"), {})
    assert section["log"]["predictions"] == 0 and alerts == []
    with pytest.raises(MlconfError, match="cannot read the server's metrics"):
        health(
            read_predictions(registry.engine, "world"),
            {"metrics_url": "http://127.0.0.1:9/metrics", "timeout": 1},
        )
