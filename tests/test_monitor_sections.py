"""The performance, health and impact sections over a trained model's prediction log, as
the monitor command calls them, and the rules acting on their alerts."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from monitor_world import give_feedback, serve_world, train_champion, world

from mlconf.config.monitor_loop import LoopSettings
from mlconf.monitoring.rules import evaluate_rules
from mlconf.monitoring.sections import SECTION_FUNCTIONS, as_plain, install
from mlconf.store.model_registry import open_model


@pytest.mark.slow
def test_sections_see_the_changed_world_and_the_rules_notify(tmp_path: Path) -> None:
    registry, _ = train_champion(tmp_path)
    shifted = world(200, changed=True, seed=5)
    shifted["contact"] = [f"p{i}@mail.example.org" for i in range(len(shifted))]
    ids = serve_world(registry, shifted)
    give_feedback(registry, ids[:150], shifted["y"].tolist()[:150])
    model, version = open_model("world@production", registry.url)
    assert version is not None
    settings = as_plain(LoopSettings())
    settings["performance"].update({"window": "1h", "min_rows": 20})
    settings["impact"].update({"segment": "group", "sensitive": ["group"]})
    settings["notifiers"] = [{"name": "file", "path": str(tmp_path / "alerts.jsonl")}]
    ctx = SimpleNamespace(
        model=model,
        version=version,
        model_name="world",
        model_dir=version.model_dir,
        registry_url=registry.url,
        window="7d",
        settings=settings,
    )
    out = {name: function(ctx) for name, function in SECTION_FUNCTIONS.items()}
    json.dumps(out, default=str)
    performance = out["performance"]
    assert performance["metric"] == "accuracy" and performance["labelled_rows"] == 150
    assert performance["baseline"]["value"] > 0.85 and performance["dropped"]
    assert performance["overall"]["value"] < 0.7
    assert [a["kind"] for a in performance["alerts"]] == ["performance"]
    assert out["health"]["log"]["predictions"] == 200 and out["health"]["alerts"] == []
    impact = out["impact"]
    assert impact["usage"]["predictions"] == 200
    assert {s["segment"] for s in impact["usage"]["segments"]} == {"a", "b"}
    assert out["fairness"]["rows"] == 150 and impact["security"]["integrity"]["ok"]
    assert {g["group"] for g in out["fairness"]["groups"]} == {"a", "b"}
    assert impact["security"]["pii"][0]["column"] == "contact"

    alerts = [a for section in out.values() for a in section["alerts"]]
    decisions = evaluate_rules(alerts, settings, registry, "world@production")
    fired = [d["rule"] for d in decisions if d["fired"]]
    assert fired == ["performance"]
    line = json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[0])
    assert line["rule"] == "performance" and "accuracy fell" in line["alerts"][0]["message"]

    sections: dict = {"drift": lambda c: {}}
    install(sections)
    assert list(sections) == ["drift", "performance", "health", "fairness", "impact"]
