"""The retrain loop end to end: a champion trained on the old world, traffic and feedback
from a changed world, a challenger trained on reference + feedback, compared on the most
recent feedback, promoted only when better; every decision in the audit table; lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from monitor_world import give_feedback, serve_world, train_champion, world

from mlconf.cli.models import main as models_main
from mlconf.monitoring.retrain import retrain
from mlconf.monitoring.rules import evaluate_rules


@pytest.mark.slow
def test_changed_world_retrains_and_promotes_then_a_no_better_challenger_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, _ = train_champion(tmp_path)
    # The world changed: the label now follows x2. The champion still predicts from x1.
    shifted = world(300, changed=True, seed=2)
    ids = serve_world(registry, shifted)
    give_feedback(registry, ids, shifted["y"].tolist())
    settings = {
        "rules": [{"when": "labels", "min_labels": 100, "then": [{"name": "retrain"}]}],
        "retrain": {"holdout": 0.3, "feedback_share": 0.8, "margin": 0.05},
    }
    (decision,) = evaluate_rules([], settings, registry, "world@production")
    assert decision["fired"], decision
    (action,) = decision["actions"]
    assert action["ok"], action
    result = action["result"]
    assert result["decision"] == "promoted", result
    assert result["challenger"] == 2 and result["champion"] == 1
    assert result["challenger_parent"] == 1
    assert result["holdout_rows"] == 90 and result["feedback_rows"] == 210
    assert result["reference_rows"] == round(210 * 0.2 / 0.8)
    assert result["challenger_score"]["value"] > result["champion_score"]["value"] + 0.05
    challenger = registry.resolve("world@production")
    assert challenger.version == 2 and challenger.parent_version == 1
    assert (Path(result["run_dir"]) / "retrain_data.parquet").is_file()

    (entry,) = [e for e in registry.audit("world") if e["action"] == "retrain"]
    assert (entry["from_version"], entry["to_version"], entry["alias"]) == (1, 2, "production")
    assert entry["details"]["decision"] == "promoted"
    assert entry["details"]["metric"] == "accuracy" and "labels" in entry["details"]["reason"]

    # Same world again: the new champion (~0.9) is already right; a challenger cannot beat it
    # by the margin of 0.1, so it is registered but not promoted.
    again = world(200, changed=True, seed=3)
    ids = serve_world(registry, again)
    give_feedback(registry, ids, again["y"].tolist())
    kept = retrain(
        "world",
        registry=registry,
        settings={"margin": 0.1, "window": "1d", "feedback_share": 0.8},
        reason="manual",
    )
    assert kept["decision"] == "kept" and "not better" in kept["why"], kept
    assert registry.resolve("world@production").version == 2
    last = registry.audit("world")[-1]
    assert last["action"] == "retrain" and last["to_version"] == kept["challenger"]
    assert last["alias"] is None and last["details"]["decision"] == "kept"
    assert last["details"]["champion_score"]["value"] is not None

    assert models_main(["lineage", "world", "--registry-url", registry.url]) == 0
    text = capsys.readouterr().out
    assert "version 2" in text and "parent 1" in text and "retrain decision (promoted)" in text
    assert "retrain decision (kept)" in text and "data main: sha256" in text
    assert models_main(["lineage", "world", "--json", "--registry-url", registry.url]) == 0
    chain = json.loads(capsys.readouterr().out)
    assert [v["parent"] for v in chain] == [None, 1, 2]


def test_too_few_labels_is_a_recorded_skip(tmp_path: Path) -> None:
    from test_model_registry import add

    from mlconf.store.model_registry import ModelRegistry

    registry = ModelRegistry(f"sqlite:///{tmp_path}/r.db")
    add(registry, tmp_path, name="world")
    registry.promote("world", 1, "production")
    (tmp_path / "run0" / "config.yaml").write_text("seed: 1\n")
    found = retrain("world@production", registry=registry, settings={"min_holdout": 5})
    assert found["decision"] == "skipped" and "0 labelled row(s)" in found["why"]
    assert registry.audit("world")[-1]["details"]["decision"] == "skipped"


def test_retraining_rows_and_config_follow_the_champions_privacy_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The rows written beside a retraining run are protected like every other output, and
    # the config no longer names the columns the policy dropped.
    import pandas as pd
    from omegaconf import OmegaConf

    import mlconf
    from mlconf.ml.privacy.policy import PrivacyPolicy
    from mlconf.monitoring.retrain import _training_config

    monkeypatch.setenv("MLCONF_PII_SALT", "test-salt")
    policy = PrivacyPolicy(drop=("phone",), hash=("email",), salt_env="MLCONF_PII_SALT")
    raw = pd.DataFrame(
        {"email": ["ann@example.com", "bo@example.com"], "phone": ["555-0101", None], "x": [1, 2]}
    )
    rows = policy.rows(raw)
    assert "phone" not in rows.columns
    assert not rows["email"].isin(raw["email"]).any()
    assert policy.rows(rows).equals(rows)  # hashing is idempotent: logged inputs stay as they are
    cfg = OmegaConf.create(OmegaConf.to_container(mlconf.compose("train"), resolve=True))
    OmegaConf.update(cfg, "schema.columns", {"phone": {"dtype": "str"}, "x": {"dtype": "int"}})
    OmegaConf.update(cfg, "privacy.columns", {"phone": "drop", "email": "hash"})

    class Champion:
        name = "world"

    class Registry:
        url = "sqlite:///x.db"

    new = _training_config(
        cfg,
        tmp_path / "r.parquet",
        Champion(),
        Registry(),
        "challenger",
        policy.drop,  # type: ignore[arg-type]
    )
    assert list(new.schema.columns) == ["x"]
    assert dict(new.privacy.columns) == {"email": "hash"}
