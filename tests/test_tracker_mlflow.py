"""`tracker=mlflow`: runs logged to a real local MLflow store (SQLite) and read back with
MLflow's own client; multiruns nested under a parent; an unreachable store stops the run
before training (or warns); a tracker of one's own registered as a component."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from helpers import TRACEBACK, cli, output_of, run_train

from mlconf.components.trackers import TrackedRun, Tracker
from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError

mlflow = pytest.importorskip("mlflow")

FAST = ["model.params.n_estimators=10", "metrics.bootstrap=20"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow SQLite store for the module: creating its tables takes seconds."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.MlflowClient(uri).search_experiments(max_results=1)
    return uri


def _runs(uri: str, experiment: str) -> list[Any]:
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    return list(client.search_runs([found.experiment_id], max_results=100))


@pytest.mark.slow
def test_a_run_is_logged_with_params_metrics_tags_and_artifacts(store: str, tmp_path: Path) -> None:
    overrides = [
        *FAST,
        "tracker=mlflow",
        f"tracker.params.uri={store}",
        "tracker.params.experiment=logged",
        "tracker.params.log_trials=true",
        "search=xgboost",
        "tune.n_trials=2",
        "tune.folds=2",
        "stages=[load,validate,prepare,split,tune,train,evaluate,save,report]",
    ]
    result = run_train(overrides, tmp_path / "run")
    runs = _runs(store, "logged")
    (logged,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == logged.info.run_id]
    assert logged.info.status == "FINISHED"
    data = logged.data
    # the composed config, flattened
    assert data.params["model.name"] == "xgboost"
    assert data.params["tune.n_trials"] == "2"
    assert data.params["tracker.params.experiment"] == "logged"
    # metrics with their intervals, and the verdicts
    test = result.metrics["test"]["model"]["roc_auc"]
    assert data.metrics["test.roc_auc"] == pytest.approx(test["value"])
    assert data.metrics["test.roc_auc.low"] == pytest.approx(test["low"])
    assert data.metrics["test.roc_auc.high"] == pytest.approx(test["high"])
    assert data.metrics["criterion.roc_auc.passed"] in (0.0, 1.0)
    assert data.tags["mlconf.verdict.roc_auc"].startswith("roc_auc >= 0.95")
    # tags: run id, data fingerprints, git commit
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert data.tags["mlconf.run_id"] == record["id"]
    assert data.tags["mlconf.data.main.sha256"] == record["fingerprints"]["main"]["sha256"]
    if record["git"]:
        assert data.tags["mlflow.source.git.commit"] == record["git"]["commit"]
    # the run folder's report, model card, plots as artifacts
    client = mlflow.MlflowClient(store)
    # kept beside the SQLite file, not in ./mlruns under whatever folder the run started in
    database = Path(store.split(":///", 1)[1])
    artifacts = client.get_experiment_by_name("logged").artifact_location
    assert artifacts == (database.parent / "mlflow-artifacts").as_uri()
    names = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"report.html", "model_card.md", "plots", "metrics.json", "verdicts.json"} <= names
    assert client.list_artifacts(logged.info.run_id, "plots")
    verdicts = json.loads(
        Path(
            client.download_artifacts(logged.info.run_id, "verdicts.json", str(tmp_path))
        ).read_text()
    )
    assert verdicts["success_criteria"] == result.metrics["success_criteria"]
    # the tuning study's trials, nested under the run
    assert sorted(r.data.tags["mlconf.trial"] for r in trials) == ["0", "1"]
    assert all("value" in r.data.metrics for r in trials)
    # trial 0 is the untuned default (model.params, tune.default_first); the next is searched
    searched = [r for r in trials if r.data.tags["mlconf.trial"] == "1"]
    assert all("max_depth" in r.data.params for r in searched)


@pytest.mark.slow
def test_a_multirun_is_a_parent_with_nested_children(store: str, tmp_path: Path) -> None:
    args = [
        "train",
        "-m",
        "seed=1,2",
        *FAST,
        "tracker=mlflow",
        f"tracker.params.uri={store}",
        "tracker.params.experiment=swept",
        "stages=[load,split,train,evaluate]",
    ]
    proc = cli(args, cwd=tmp_path)
    assert proc.returncode == 0, output_of(proc)
    runs = _runs(store, "swept")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.data.tags for r in runs]
    (parent,) = parents
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.params["seed"] for r in children) == ["1", "2"]
    assert parent.data.tags["mlconf.sweep_dir"].startswith(str(tmp_path))
    assert parent.info.status == "FINISHED"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_store_fails_before_training_with_the_masked_uri(tmp_path: Path) -> None:
    uri = f"http://alice:s3cret-pw@127.0.0.1:{_closed_port()}"
    given = ["tracker=mlflow", f"tracker.params.uri='{uri}'", "tracker.params.timeout=2"]
    with pytest.raises(MlconfError) as caught:
        run_train([*given, "stages=[load,split,train,save]"], tmp_path / "run")
    text = caught.value.render()
    assert "alice:***@127.0.0.1" in text and "s3cret-pw" not in text
    assert "tracker.on_unreachable=warn" in text and "tracker.params.uri" in text
    assert not (tmp_path / "run").exists()  # nothing ran, not even the run folder
    # by the documented setting: warn, train, and say so in the run record
    result = run_train(
        [*given, "tracker.on_unreachable=warn", "stages=[load]"], tmp_path / "warned"
    )
    assert result.record.status == "succeeded"
    assert any("cannot be reached" in w for w in result.record.warnings)
    assert all("s3cret-pw" not in w for w in result.record.warnings)


def test_the_cli_names_the_store_without_a_traceback(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{_closed_port()}"
    proc = cli(
        ["train", "tracker=mlflow", f"tracker.params.uri={uri}", "tracker.params.timeout=1"],
        cwd=tmp_path,
    )
    text = output_of(proc)
    assert proc.returncode != 0 and TRACEBACK not in text
    assert f"the MLflow tracking store {uri} cannot be reached" in text
    assert not list(tmp_path.glob("experiments/*/runs/*/model"))  # nothing was trained


class MemoryTracker(Tracker):
    """A tracker of one's own: keeps what it is given."""

    logged: list[TrackedRun] = []

    def __init__(self, label: str = "") -> None:
        self.label = label

    def check(self) -> None:
        if self.label == "down":
            raise MlconfError("memory tracker is down", fix="bring it up")

    def log_run(self, run: TrackedRun) -> None:
        MemoryTracker.logged.append(run)


def test_a_registered_tracker_is_called_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(REGISTRY, "_items", {k: dict(v) for k, v in REGISTRY._items.items()})
    REGISTRY.add("tracker", "memory", MemoryTracker)
    MemoryTracker.logged.clear()
    result = run_train(
        ["tracker.name=memory", "+tracker.params.label=up", "stages=[load]"], tmp_path / "run"
    )
    (run,) = MemoryTracker.logged
    assert run.run_id == result.record.id and run.status == "succeeded"
    assert run.config["tracker"]["name"] == "memory"
    with pytest.raises(MlconfError, match="memory tracker is down"):
        run_train(["tracker.name=memory", "+tracker.params.label=down"], tmp_path / "down")
    with pytest.raises(MlconfError, match="has no parameter 'lable'"):
        run_train(["tracker.name=memory", "+tracker.params.lable=up"], tmp_path / "typo")
