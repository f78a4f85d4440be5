"""The runner in-process: what a run writes (run.json, metrics.json, split, quarantine, model),
how a failure is recorded, row-level cleaning, cross-validation, and the three task paths."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import CARS, FAST, LEAN, NO_EXTRAS, compose_train, csv_data, quiet_console, run_train

import mlconf
from mlconf import register
from mlconf.core.errors import MlconfError
from mlconf.runner import RunResult, run

STAGES = [
    "load",
    "validate",
    "privacy",
    "explore",
    "prepare",
    "split",
    "select",
    "tune",
    "train",
    "evaluate",
    "explain",
    "fairness",
    "save",
    "report",
    "register",
]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def default_run(trained: Callable[[Sequence[str]], RunResult]) -> RunResult:
    """The default experiment (breast cancer, xgboost), kept small, without plots or explanation
    (none of its tests reads them; the same run as test_cli.py's breast_cancer preset)."""
    return trained(["experiment=breast_cancer", *LEAN])


@pytest.fixture(scope="module")
def corrupted_cars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cars.csv with one row from 'Mars' (row 3) and one Horsepower of 'abc' (row 7)."""
    frame = pd.read_csv(CARS, dtype=str, keep_default_na=False)
    frame.loc[3, "Origin"] = "Mars"
    frame.loc[7, "Horsepower"] = "abc"
    path = tmp_path_factory.mktemp("cars") / "cars.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cars_run(tmp_path_factory: pytest.TempPathFactory, corrupted_cars: Path) -> RunResult:
    return run_train(
        ["experiment=cars", *csv_data(corrupted_cars, name="cars"), *LEAN],
        tmp_path_factory.mktemp("cars_run") / "run",
    )


# --- what a run writes ------------------------------------------------------------------------


def test_run_json_records_the_run(default_run: RunResult) -> None:
    record = read_json(default_run.run_dir / "run.json")
    assert record["status"] == "succeeded"
    assert record["error"] is None
    assert record["experiment"] == "breast_cancer"
    assert record["seed"] == 42
    assert list(record["stages"]) == STAGES
    assert all(isinstance(s, float) and s >= 0 for s in record["stages"].values())
    assert record["finished"] is not None
    main = record["fingerprints"]["main"]
    assert main["kind"] == "sklearn"
    assert main["location"] == "breast_cancer"
    assert len(main["sha256"]) == 64
    assert main["rows"] == 569
    assert main["columns"] == 31
    for package in ("python", "pandas", "scikit-learn", "xgboost", "hydra-core", "skops"):
        assert package in record["versions"], package
    assert record["counts"]["rows_loaded"] == 569
    assert sum(record["counts"]["split"].values()) == 569
    assert "git" in record


def test_metrics_json_has_model_and_baseline_with_intervals(default_run: RunResult) -> None:
    metrics = read_json(default_run.run_dir / "metrics.json")
    assert metrics["task"] == "classification"
    assert metrics["primary_metric"] == "roc_auc"
    assert metrics["bootstrap"] == 20
    for part in ("validation", "test"):
        for role in ("model", "baseline"):
            scores = metrics[part][role]
            assert {"accuracy", "roc_auc", "f1", "log_loss"} <= set(scores), (part, role)
            for name, value in scores.items():
                assert set(value) >= {"value", "low", "high"}, name
            auc = scores["roc_auc"]
            if role == "model":
                assert auc["low"] <= auc["value"] <= auc["high"]
            else:  # the baseline is a point of reference, without an interval
                assert auc["low"] is None and auc["high"] is None
    assert metrics["test"]["model"]["roc_auc"]["value"] > 0.9
    assert metrics["test"]["baseline"]["roc_auc"]["value"] == pytest.approx(0.5)
    assert metrics["cv"] is None
    assert {c["metric"] for c in metrics["success_criteria"]} == {"roc_auc", "recall"}
    assert isinstance(metrics["passed"], bool)
    assert default_run.metrics == metrics


def test_split_manifest_covers_every_row_once(default_run: RunResult) -> None:
    split = pd.read_csv(default_run.run_dir / "data" / "split.csv")
    assert list(split.columns) == ["row", "part"]
    assert sorted(split["row"]) == list(range(1, 570))  # data rows count from 1
    assert set(split["part"]) == {"train", "validation", "test"}
    counts = split["part"].value_counts().to_dict()
    assert counts == read_json(default_run.run_dir / "run.json")["counts"]["split"]


def test_config_yaml_and_model_folder(default_run: RunResult) -> None:
    config = (default_run.run_dir / "config.yaml").read_text()
    assert "n_estimators: 20" in config
    assert default_run.model_dir == default_run.run_dir / "model"
    assert (default_run.model_dir / "pipeline.skops").is_file()
    manifest = read_json(default_run.model_dir / "manifest.json")
    assert manifest["run_id"] == read_json(default_run.run_dir / "run.json")["id"]
    assert manifest["metrics"] == default_run.metrics["test"]["model"]
    assert not (default_run.run_dir / "data" / "quarantine.csv").exists()


# --- failures are recorded --------------------------------------------------------------------


def test_failed_run_records_status_and_error(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        run_train(["problem.target=tumour_class", *FAST], tmp_path / "run")
    assert "target column 'tumour_class' is not in the data" in str(info.value)
    record = read_json(tmp_path / "run" / "run.json")
    assert record["status"] == "failed"
    assert "target column 'tumour_class'" in record["error"]
    assert record["finished"] is not None
    assert list(record["stages"]) == []
    assert not (tmp_path / "run" / "model").exists()


@register("model", "tests_runner_exploding")
def _exploding(task: str, **params: Any) -> Any:
    """A model whose fit raises an unexpected error (registered by the test suite)."""
    from sklearn.dummy import DummyClassifier

    class Exploding(DummyClassifier):
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            raise RuntimeError("kaboom in fit")

    return Exploding()


def test_unexpected_exception_is_recorded_as_crashed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="kaboom"):
        run_train(
            ["model=dummy", "model.name=tests_runner_exploding", *NO_EXTRAS], tmp_path / "run"
        )
    record = read_json(tmp_path / "run" / "run.json")
    assert record["status"] == "crashed"
    assert "RuntimeError: kaboom in fit" in record["error"]
    assert list(record["stages"]) == STAGES[: STAGES.index("train")]


def test_unknown_names_fail_before_any_data_is_read(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        run_train(["model.name=xgbost"], tmp_path / "run")
    assert "config key model.name" in str(info.value)
    assert "Did you mean 'xgboost'?" in str(info.value)
    assert not (tmp_path / "run").exists()


def test_unknown_stage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match=r"unknown stage 'trian'\. Did you mean 'train'\?"):
        run_train(["stages=[load,validate,prepare,split,trian]"], tmp_path / "run")


def test_unknown_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="unknown task 'clustering'"):
        run_train(["problem.task=clustering"], tmp_path / "run")


def test_run_without_run_dir_outside_hydra_is_a_clear_error() -> None:
    cfg = compose_train(["stages=[load]"])
    with pytest.raises(MlconfError, match="no run folder"):
        run(cfg, console=quiet_console())


# --- quarantine -------------------------------------------------------------------------------


def test_schema_failures_are_quarantined_and_the_run_trains(cars_run: RunResult) -> None:
    assert cars_run.record.status == "succeeded"
    quarantine = pd.read_csv(cars_run.run_dir / "data" / "quarantine.csv")
    assert sorted(quarantine["_row"]) == [4, 8]  # data rows, counted from 1
    assert set(quarantine["_stage"]) == {"validate"}
    reasons = dict(zip(quarantine["_row"], quarantine["_reason"], strict=True))
    assert "Origin" in reasons[4]
    assert "Mars" in reasons[4]
    assert "Horsepower" in reasons[8]
    assert "abc" in reasons[8]
    counts = cars_run.record.counts
    assert counts["quarantined_rows"] == 2
    assert counts["rows_loaded"] == 406
    split = pd.read_csv(cars_run.run_dir / "data" / "split.csv")
    assert len(split) == 404
    assert not {4, 8} & set(split["row"])
    assert (cars_run.model_dir / "pipeline.skops").is_file()


def test_unknown_category_at_predict_time(cars_run: RunResult) -> None:
    model = mlconf.load_model(cars_run.model_dir)
    rows = pd.read_csv(CARS).head(6)
    rows["Make"] = "zzz-unknown"
    rows.loc[rows.index[0], "Horsepower"] = np.nan
    predicted = model.predict(rows)
    assert len(predicted) == 6
    assert set(predicted) <= {"USA", "Europe", "Japan"}
    proba = model.predict_proba(rows)
    assert proba is not None
    assert proba.shape == (6, 3)
    assert model.classes == sorted(["USA", "Europe", "Japan"])


def test_string_target_classes_come_back_as_labels(cars_run: RunResult) -> None:
    model = mlconf.load_model(cars_run.model_dir)
    frame = pd.read_csv(CARS)
    accuracy = (model.predict(frame) == frame["Origin"]).mean()
    assert accuracy > 0.7
    assert "Name" not in model.input_columns  # an id column
    assert "Origin" not in model.input_columns


# --- cross-validation -------------------------------------------------------------------------


def test_folds_give_a_cv_section_with_mean_and_std(tmp_path: Path) -> None:
    result = run_train(
        ["split.folds=3", "model=logistic", "metrics.bootstrap=0", *NO_EXTRAS], tmp_path / "r"
    )
    cv = read_json(tmp_path / "r" / "metrics.json")["cv"]
    assert cv == result.metrics["cv"]
    for name in ("accuracy", "roc_auc", "f1"):
        assert set(cv[name]) == {"mean", "std", "folds"}
        assert len(cv[name]["folds"]) == 3
        assert cv[name]["mean"] == pytest.approx(np.mean(cv[name]["folds"]))
        assert cv[name]["std"] == pytest.approx(np.std(cv[name]["folds"]))
    assert cv["roc_auc"]["mean"] > 0.9


# --- row-level cleaning in prepare ------------------------------------------------------------


@pytest.fixture(scope="module")
def messy_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A table with an entirely empty feature column and three exact duplicate rows."""
    rng = np.random.default_rng(0)
    n = 150
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x.round(3),
            "w": rng.integers(0, 5, n),
            "nothing": [None] * n,
            "label": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )
    frame = pd.concat([frame, frame.iloc[[5, 9, 9]]], ignore_index=True)
    folder = tmp_path_factory.mktemp("messy")
    frame.to_csv(folder / "messy.csv", index=False)
    return run_train(
        [
            *csv_data(folder / "messy.csv", name="messy"),
            "problem.target=label",
            "problem.positive_class=yes",
            "model=logistic",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        folder / "run",
    )


def test_empty_feature_column_is_dropped_with_a_warning(messy_run: RunResult) -> None:
    assert messy_run.record.status == "succeeded"
    warnings = messy_run.record.warnings
    assert any("'nothing'" in w and "entirely empty" in w for w in warnings), warnings
    assert messy_run.record.counts["columns_dropped"] == ["nothing"]
    model = mlconf.load_model(messy_run.model_dir)
    assert model.input_columns == ["x", "w"]


def test_exact_duplicates_are_quarantined_with_their_reason(messy_run: RunResult) -> None:
    quarantine = pd.read_csv(messy_run.run_dir / "data" / "quarantine.csv")
    assert sorted(quarantine["_row"]) == [151, 152, 153]
    assert set(quarantine["_stage"]) == {"prepare"}
    assert set(quarantine["_reason"]) == {"exact duplicate of an earlier row"}
    assert messy_run.record.counts["exact_duplicates_dropped"] == 3
    split = pd.read_csv(messy_run.run_dir / "data" / "split.csv")
    assert len(split) == 150


def test_missing_targets_are_quarantined(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"x": rng.normal(size=n), "label": rng.choice(["a", "b"], n)})
    frame.loc[[4, 8], "label"] = None
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run_train(
        [
            *csv_data(tmp_path / "t.csv"),
            "problem.target=label",
            "problem.positive_class=b",
            "model=logistic",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        tmp_path / "run",
    )
    quarantine = pd.read_csv(result.run_dir / "data" / "quarantine.csv")
    assert sorted(quarantine["_row"]) == [5, 9]
    assert set(quarantine["_reason"]) == {"target 'label' is missing"}


# --- the task paths ---------------------------------------------------------------------------


def test_regression_path(trained: Callable[[Sequence[str]], RunResult]) -> None:
    from sklearn.datasets import load_diabetes

    result = trained(["experiment=diabetes", *LEAN])  # shared with test_cli.py
    test = result.metrics["test"]
    assert result.metrics["task"] == "regression"
    assert {"rmse", "mae", "r2"} <= set(test["model"])
    assert test["model"]["rmse"]["value"] < test["baseline"]["rmse"]["value"]
    model = mlconf.load_model(result.model_dir)
    assert model.classes == []
    frame = load_diabetes(as_frame=True).frame
    predicted = model.predict(frame.head(10))
    assert predicted.dtype == float
    assert model.predict_proba(frame.head(10)) is None


def test_multiclass_path(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    result = run_train(
        ["experiment=wine", "model=logistic", "metrics.bootstrap=20", *NO_EXTRAS], tmp_path / "r"
    )
    assert result.record.status == "succeeded"
    model = mlconf.load_model(result.model_dir)
    assert model.classes == ["class_0", "class_1", "class_2"]
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    proba = model.predict_proba(frame)
    assert proba is not None
    assert proba.shape == (len(frame), 3)
    assert set(model.predict(frame)) == {"class_0", "class_1", "class_2"}
    test = result.metrics["test"]["model"]
    assert test["f1"]["value"] > 0.8
    assert test["balanced_accuracy"]["low"] <= test["balanced_accuracy"]["value"]
