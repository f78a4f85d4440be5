"""The register stage end to end: `mlconf train` registers a passing model, records a failing
one without registering it, and registers it anyway when forced."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers import FAST, quiet_console, run_train

from mlconf.core.errors import MlconfError
from mlconf.store.model_registry import ModelRegistry, open_model

# The stages a registration needs; the others only cost time here.
STAGES = "stages=[load,validate,prepare,split,train,evaluate,save,register]"
FAILING = "problem.success_criteria.roc_auc.min=0.9999"


def registry_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/r.db"


@pytest.mark.slow
def test_train_registers_then_promote_and_open(tmp_path: Path) -> None:
    url = registry_url(tmp_path)
    console = quiet_console()
    result = run_train(
        [*FAST, STAGES, f"deploy.registry_url={url}"], tmp_path / "run1", console=console
    )
    counts = json.loads((result.run_dir / "run.json").read_text())["counts"]
    assert counts["registered"] == {
        "ref": "breast_cancer:1",
        "alias": "candidate",
        "forced": False,
    }
    assert "registered breast_cancer:1 as breast_cancer@candidate" in console.export_text()
    registry = ModelRegistry(url)
    version = registry.resolve("breast_cancer@candidate")
    assert version.run_dir == result.run_dir.resolve()
    assert version.criteria_passed is True and not version.forced
    assert version.metrics["test"]["roc_auc"] > 0.9
    manifest = json.loads((result.run_dir / "model" / "manifest.json").read_text())
    assert version.sha256 == manifest["files"]["pipeline.skops"]
    assert version.fingerprints["main"]["sha256"]

    registry.promote("breast_cancer", 1, "production")
    model, found = open_model("breast_cancer@production", url)
    assert found is not None and found.version == 1
    assert model.input_columns == version.schema["input_columns"]

    with pytest.raises(MlconfError, match="no alias 'staging'"):
        open_model("breast_cancer@staging", url)

    # A model folder replaced after registration (a consistent manifest, another sha256).
    with sqlite3.connect(tmp_path / "r.db") as conn:
        conn.execute("UPDATE model_versions SET sha256 = ?", ("0" * 64,))
    with pytest.raises(MlconfError, match="was registered"):
        open_model("breast_cancer@production", url)

    # A changed pipeline file is refused before anything is unpickled or built.
    pipeline = result.run_dir / "model" / "pipeline.skops"
    pipeline.write_bytes(pipeline.read_bytes() + b"x")
    with pytest.raises(MlconfError, match="does not match its manifest"):
        open_model("breast_cancer@production", url)


@pytest.mark.slow
def test_failing_criteria_not_registered_unless_forced(tmp_path: Path) -> None:
    url = registry_url(tmp_path)
    console = quiet_console()
    failed = run_train(
        [*FAST, STAGES, FAILING, f"deploy.registry_url={url}"], tmp_path / "a", console=console
    )
    record = json.loads((failed.run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["counts"]["registered"] is None
    warning = "not registered: success criteria not met (roc_auc)"
    assert any(warning in w for w in record["warnings"])
    assert not (tmp_path / "r.db").exists()

    forced = run_train(
        [*FAST, STAGES, FAILING, f"deploy.registry_url={url}", "deploy.register.force=true"],
        tmp_path / "b",
    )
    counts = json.loads((forced.run_dir / "run.json").read_text())["counts"]
    assert counts["registered"]["forced"] is True
    version = ModelRegistry(url).resolve("breast_cancer@candidate")
    assert version.forced and version.criteria_passed is False
