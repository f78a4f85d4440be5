"""`mlconf monitor` closes the loop: the changed world shows as a performance alert, the rule
retrains, the better challenger is promoted, and monitoring.json and the report show it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from monitor_world import give_feedback, serve_world, train_champion, world

from mlconf.monitoring.command import run_monitor


@pytest.mark.slow
def test_monitor_alerts_retrains_and_promotes(tmp_path: Path) -> None:
    registry, _ = train_champion(tmp_path)
    shifted = world(300, changed=True, seed=7)
    ids = serve_world(registry, shifted)
    give_feedback(registry, ids, shifted["y"].tolist())
    settings = {
        "performance": {"window": "1h", "min_rows": 20},
        "rules": [
            {"when": "performance", "then": ["notify", {"name": "retrain", "margin": 0.05}]},
        ],
        "notifiers": [{"name": "file", "path": str(tmp_path / "alerts.jsonl")}],
        "retrain": {"feedback_share": 0.8},
    }
    result = run_monitor(
        "world@production",
        registry_url=registry.url,
        window="7d",
        out_dir=tmp_path / "monitoring",
        settings=settings,
    )
    assert any(a.kind == "performance" and a.level == "alert" for a in result.alerts)
    summary = json.loads((tmp_path / "monitoring" / "monitoring.json").read_text())
    assert {"performance", "health", "fairness", "impact", "decisions"} <= set(summary["sections"])
    (decision,) = summary["decisions"]
    assert decision["fired"] and [a["trigger"] for a in decision["actions"]] == [
        "notify",
        "retrain",
    ]
    retrained = decision["actions"][1]["result"]
    assert retrained["decision"] == "promoted", retrained
    assert registry.resolve("world@production").version == 2
    html = (tmp_path / "monitoring" / "monitoring_report.html").read_text()
    assert "retrain: promoted" in html and "accuracy fell" in html
    assert (
        json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[0])["rule"] == "performance"
    )
