"""The whole loop on a real server: a champion is served by `mlconf serve`, traffic from a
shifted, changed world arrives over HTTP with feedback, `mlconf monitor` sees the drift and
the fall in accuracy, retrains, promotes, and the server never stops answering."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx
from monitor_world import train_champion, world
from serve_helpers import mlconf_serve
from shift_data import shift

from mlconf.monitoring.command import run_monitor

TIMEOUT = 30.0


class Prober(threading.Thread):
    """POSTs one record to /predict over and over; keeps every failure and the versions seen."""

    def __init__(self, url: str, record: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.record = url, record
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.versions: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=TIMEOUT) as client:
            while not self.stop.is_set():
                try:
                    response = client.post(f"{self.url}/predict", json=[self.record])
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                else:
                    if response.status_code == 200:
                        self.versions.append(response.json()["model_version"])
                    else:
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")
                self.stop.wait(0.05)


@pytest.mark.slow
def test_served_traffic_drifts_monitor_retrains_and_server_keeps_answering(
    tmp_path: Path,
) -> None:
    registry, _ = train_champion(tmp_path)
    # Production traffic: x1 moved up by two standard deviations (drift), and the label now
    # follows x2 instead of x1 (the world changed, so the champion's accuracy falls).
    traffic = shift(world(300, changed=True, seed=7), ["x1"])
    inputs = traffic.drop(columns=["y"]).to_dict("records")
    args = ["model=world@production", f"registry_url={registry.url}", "reload_interval=0"]
    with mlconf_serve(args, tmp_path) as served, httpx.Client(timeout=TIMEOUT) as client:
        url = served.url
        assert client.get(f"{url}/model").json()["model_version"] == "1"
        ids: list[str] = []
        for start in range(0, len(inputs), 50):
            response = client.post(f"{url}/predict", json=inputs[start : start + 50])
            assert response.status_code == 200, response.text
            ids += [r["prediction_id"] for r in response.json()["results"]]
        for pid, outcome in zip(ids, traffic["y"], strict=True):
            answer = {"prediction_id": pid, "outcome": outcome}
            response = client.post(f"{url}/feedback", json=answer)
            assert response.status_code == 200, response.text

        prober = Prober(url, inputs[0])
        prober.start()
        try:
            result = run_monitor(
                "world@production",
                registry_url=registry.url,
                window="7d",
                out_dir=tmp_path / "monitoring",
                settings={
                    "performance": {"window": "1h", "min_rows": 20, "bootstrap": 20},
                    "health": {"metrics_url": f"{url}/metrics"},
                    "rules": [
                        {"when": "drift", "then": ["notify"]},
                        {"when": "performance", "then": [{"name": "retrain", "margin": 0.05}]},
                    ],
                    "notifiers": [{"name": "file", "path": str(tmp_path / "alerts.jsonl")}],
                    "retrain": {"feedback_share": 0.8},
                },
            )
            during = len(prober.versions)
            reloaded = client.post(f"{url}/admin/reload")
            served = client.get(f"{url}/model").json()
            time.sleep(0.3)  # a few more requests against the swapped model
        finally:
            prober.stop.set()
            prober.join(TIMEOUT)

    # The server answered every request, before, during and after the retrain and reload.
    assert prober.failures == []
    assert during >= 2 and set(prober.versions[:during]) == {"1"}

    summary = json.loads((tmp_path / "monitoring" / "monitoring.json").read_text())
    kinds = {(a["kind"], a["level"]) for a in summary["alerts"]}
    assert {("drift", "alert"), ("performance", "alert")} <= kinds, kinds
    assert "x1" in json.dumps(summary["drift"]["drifted"])
    assert {a.kind for a in result.alerts} >= {"drift", "performance"}
    fired = {d["rule"]: d for d in summary["decisions"] if d["fired"]}
    assert set(fired) >= {"drift", "performance"}, summary["decisions"]
    (action,) = fired["performance"]["actions"]
    assert action["trigger"] == "retrain"
    decision = action["result"]
    notified = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [n["rule"] for n in notified] == ["drift"]
    html = (tmp_path / "monitoring" / "monitoring_report.html").read_text()
    assert "retrain: promoted" in html

    # A challenger was trained and registered with the champion as its parent.
    versions = {v.version: v for v in registry.versions("world")}
    assert set(versions) == {1, 2}
    assert versions[2].parent_version == 1

    # The decision, with the numbers behind it, is in the registry's audit table.
    (audit,) = [row for row in registry.audit("world") if row["action"] == "retrain"]
    details = audit["details"]
    assert details["decision"] == decision["decision"]
    assert details["champion"] == 1 and details["challenger"] == 2
    assert details["metric"] == "accuracy"
    assert details["holdout_rows"] > 0
    for side in ("champion_score", "challenger_score"):
        assert 0.0 <= details[side]["value"] <= 1.0
    assert details["improvement"] == pytest.approx(
        details["challenger_score"]["value"] - details["champion_score"]["value"]
    )

    # Promoted: after /admin/reload the server serves version 2.
    assert decision["decision"] == "promoted", decision
    assert audit["to_version"] == 2 and audit["alias"] == "production"
    assert registry.resolve("world@production").version == 2
    assert reloaded.status_code == 200 and reloaded.json()["reloaded"] is True
    assert served["model_version"] == "2"
    assert prober.versions[0] == "1" and prober.versions[-1] == "2"
