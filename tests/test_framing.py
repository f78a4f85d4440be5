"""Problem framing: cost matrix and usage checks, the decision threshold chosen on validation
and built into the saved pipeline, evaluation plots and predictions.csv of a run."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, LEAN, run_train

import mlconf
from mlconf.config import ProblemConfig, ThresholdConfig
from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError
from mlconf.ml.evaluation import MetricValue, mean_with_interval, success_verdict
from mlconf.ml.framing import (
    check_problem,
    choose_threshold,
    cost_matrix,
    final_estimator,
    row_costs,
    threshold_of,
    with_threshold,
)
from mlconf.runner import RunResult

# Five validation rows, hand-made so that each cost matrix has one best threshold.
Y = np.array([0, 0, 0, 1, 1])
SCORES = np.array([0.1, 0.3, 0.6, 0.4, 0.9])


def problem(**changes: Any) -> ProblemConfig:
    base = ProblemConfig(task="classification", target="y", primary_metric="f1")
    for key, value in changes.items():
        setattr(base, key, value)
    return base


# --- choosing the threshold -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("costs", "threshold", "cost"),
    [
        # a missed positive costs 5: flag from 0.35 up (one false alarm, nothing missed)
        ({"fp": 1, "fn": 5}, 0.35, 1 / 5),
        # a false alarm costs 5: flag only the 0.9 row (one positive missed, no false alarm)
        ({"fp": 5, "fn": 1}, 0.75, 1 / 5),
        # equal costs: 0.35 and 0.75 tie at 1/5; the one closer to 0.5 wins
        ({"fp": 1, "fn": 1}, 0.35, 1 / 5),
        # costs of correct outcomes count too: each flagged row costs 3 even when right
        ({"tp": 3, "fp": 3, "fn": 2}, 0.95, 4 / 5),
    ],
)
def test_cost_optimal_threshold_on_a_hand_made_example(
    costs: dict[str, float], threshold: float, cost: float
) -> None:
    full = cost_matrix(problem(costs=costs))
    assert full is not None
    choice = choose_threshold(Y, SCORES, "cost", full)
    assert choice.method == "cost"
    assert choice.threshold == pytest.approx(threshold)
    assert choice.value == pytest.approx(cost)
    assert choice.greater_is_better is False
    assert choice.rows == 5
    # the curve holds the cost of every candidate, and none is lower than the choice
    assert min(v for _, v in choice.curve) == pytest.approx(cost)
    flagged = choice.threshold <= SCORES
    assert row_costs(full, Y, flagged.astype(int)).mean() == pytest.approx(cost)


def test_metric_optimal_threshold() -> None:
    choice = choose_threshold(Y, SCORES, "f1")
    assert (choice.threshold, choice.value) == (pytest.approx(0.35), pytest.approx(0.8))
    assert choice.greater_is_better is True
    record = choice.to_dict()
    assert record["chosen_on"] == "validation"
    assert record["score_name"] == "f1"
    assert {"threshold", "score"} == set(record["curve"][0])


def test_metric_without_a_count_formula_is_called_per_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = registry.Registry()
    monkeypatch.setattr(registry, "REGISTRY", fresh)

    def hits_minus_2_alarms(y_true: Any, y_pred: Any, y_proba: Any, **_: Any) -> float:
        hits = ((y_pred == 1) & (y_true == 1)).sum()
        return float(hits - 2 * ((y_pred == 1) & (y_true == 0)).sum())

    fresh.add("metric", "hits_minus_2_alarms", hits_minus_2_alarms, greater_is_better=True)
    choice = choose_threshold(Y, SCORES, "hits_minus_2_alarms")
    assert choice.threshold == pytest.approx(0.75)
    assert choice.value == 1


@pytest.mark.parametrize("y", [[0, 0, 0], [1, 1]])
def test_single_class_validation_keeps_the_default_threshold(y: list[int]) -> None:
    choice = choose_threshold(
        np.array(y), np.linspace(0.2, 0.8, len(y)), "cost", cost_matrix(problem(costs={"fn": 1}))
    )
    assert (choice.threshold, choice.method) == (0.5, "fallback")
    assert "cannot be chosen" in choice.note
    assert choice.to_dict()["curve"] == []


def test_long_curves_are_thinned_for_the_json_files() -> None:
    rng = np.random.default_rng(0)
    choice = choose_threshold(rng.integers(0, 2, 2000), rng.random(2000), "f1")
    assert len(choice.curve) == 1000
    kept = choice.to_dict()["curve"]
    assert len(kept) <= 102
    assert choice.threshold in [p["threshold"] for p in kept]


# --- the threshold inside the pipeline ---------------------------------------------------------


def test_threshold_is_applied_by_predict_and_survives_save_and_load(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlconf.store.artifacts import TrainedModel, save_model

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    model = final_estimator(pipeline)
    wrapped = with_threshold(pipeline, 0.9)
    assert final_estimator(wrapped) is model and threshold_of(wrapped) == 0.9
    proba = wrapped.predict_proba(x)[:, 1]
    assert (wrapped.predict(x) == (proba >= 0.9)).all()
    assert (wrapped.predict(x) != pipeline[-1].estimator.predict(pipeline[:-1].transform(x))).any()
    save_model(
        TrainedModel(wrapped, "classification", "target", list(x.columns), ["0", "1"]),
        tmp_path / "model",
    )
    loaded = mlconf.load_model(tmp_path / "model")
    assert threshold_of(loaded.pipeline) == 0.9
    expected = np.where(loaded.predict_proba(x)[:, 1] >= 0.9, "1", "0")
    assert (loaded.predict(x) == expected).all()


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("costs", "where", "message"),
    [
        ({"fnn": 5}, "problem.costs.fnn", "Did you mean 'fn'?"),
        ({"FP": 1}, "problem.costs.FP", "Did you mean 'fp'?"),
        ({"fp": -1}, "problem.costs.fp", "must be a finite number >= 0, got -1"),
        ({"fp": "abc"}, "problem.costs.fp", "got 'abc'"),
        ({"fp": True}, "problem.costs.fp", "got True"),
        ({"fp": math.inf}, "problem.costs.fp", "got inf"),
        ({"fp": 0, "fn": 0}, "problem.costs", "every cost is 0"),
        ([1, 2], "problem.costs", "must be a mapping"),
    ],
)
def test_bad_costs(costs: Any, where: str, message: str) -> None:
    with pytest.raises(MlconfError) as err:
        cost_matrix(problem(costs=costs))
    assert err.value.where == where
    assert message in str(err.value)
    assert err.value.fix


def test_costs_accept_numbers_written_as_text_and_default_to_zero() -> None:
    assert cost_matrix(problem(costs={"fp": "2.5", "fn": 10})) == {
        "tp": 0.0,
        "fp": 2.5,
        "fn": 10.0,
        "tn": 0.0,
    }


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"usage": "realtime"}, "problem.usage", "Did you mean 'real_time'?"),
        ({"usage": "sometimes"}, "problem.usage", "real_time, batch, decision_support"),
        ({"threshold": ThresholdConfig("f11")}, "problem.threshold.optimize", "Did you mean 'f1'?"),
        ({"threshold": ThresholdConfig("roc_auc")}, "problem.threshold.optimize", "probabilities"),
        ({"threshold": ThresholdConfig("rmse")}, "problem.threshold.optimize", "not a way"),
        ({"threshold": ThresholdConfig("cost")}, "problem.threshold.optimize", "no cost matrix"),
        (
            {"task": "regression", "threshold": ThresholdConfig("f1")},
            "problem.threshold.optimize",
            "binary classification only",
        ),
        ({"task": "regression", "costs": {"fp": 1}}, "problem.costs", "classification only"),
    ],
)
def test_bad_framing(changes: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(MlconfError) as err:
        check_problem(problem(**changes))
    assert err.value.where == where
    assert message in str(err.value)


def test_good_framing_passes() -> None:
    check_problem(
        problem(usage="batch", costs={"fn": 5, "fp": 1}, threshold=ThresholdConfig("cost"))
    )
    check_problem(problem(threshold=ThresholdConfig("balanced_accuracy")))


# --- expected cost and criterion statements ----------------------------------------------------


def test_mean_with_interval() -> None:
    values = np.r_[np.zeros(90), np.full(10, 5.0)]
    mv = mean_with_interval(values, bootstrap=200, seed=1)
    assert mv.value == pytest.approx(0.5)
    assert mv.low is not None and mv.high is not None
    assert 0 < mv.low < 0.5 < mv.high < 1.2
    assert mean_with_interval(values, bootstrap=0).low is None


@pytest.mark.parametrize(
    ("bounds", "score", "starts"),
    [
        ({"min": 0.8}, MetricValue(0.85, 0.82, 0.88), "recall >= 0.8: met, 0.85 (95% interval"),
        ({"min": 0.84}, MetricValue(0.85, 0.82, 0.88), "recall >= 0.84: met on the estimate"),
        ({"min": 0.86}, MetricValue(0.85, 0.82, 0.88), "recall >= 0.86: NOT met, 0.85"),
        ({"min": 0.9}, MetricValue(0.85), "recall >= 0.9: NOT met, 0.85 (no interval"),
        ({"min": 0.9}, MetricValue(math.nan), "recall >= 0.9: NOT met, the metric could not"),
    ],
)
def test_each_criterion_is_stated_in_words(
    bounds: dict[str, float], score: MetricValue, starts: str
) -> None:
    (verdict,) = success_verdict({"recall": bounds}, {"recall": score}, 0.95)
    assert verdict["statement"].startswith(starts)
    if "NOT met, 0.85 (95%" in verdict["statement"]:
        assert verdict["statement"].endswith("though the interval reaches the bound")


# --- end to end ---------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def cost_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_train(
        [*LEAN, "problem.threshold.optimize=cost"], tmp_path_factory.mktemp("cost") / "run"
    )


def assert_plots(run_dir: Path, plots: list[dict[str, str]], names: set[str]) -> None:
    assert {Path(p["path"]).stem for p in plots} == names
    for plot in plots:
        assert plot["path"].startswith("plots/evaluation/")
        assert plot["title"] and len(plot["caption"]) > 40
        data = (run_dir / plot["path"]).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


@pytest.mark.slow
def test_threshold_chosen_by_cost_is_saved_and_applied(cost_run: RunResult) -> None:
    run_dir = cost_run.run_dir
    metrics = read_json(run_dir / "metrics.json")
    threshold = metrics["threshold"]
    t = threshold["value"]
    assert (threshold["optimize"], threshold["method"], threshold["chosen_on"]) == (
        "cost",
        "cost",
        "validation",
    )
    assert threshold["curve"] and threshold["score_name"] == "cost per row"
    assert read_json(run_dir / "model" / "manifest.json")["threshold"] == threshold
    model = mlconf.load_model(run_dir / "model")
    frame = pd.read_csv(run_dir / "data" / "predictions.csv")
    features = _test_features(run_dir)
    proba = model.predict_proba(features)
    assert proba is not None
    expected = np.where(proba[:, 1] >= t, "malignant", "benign")
    assert (model.predict(features) == expected).all()
    # predictions.csv holds the test rows, predicted at the threshold
    split = pd.read_csv(run_dir / "data" / "split.csv")
    assert sorted(frame["row"]) == sorted(split.loc[split["part"] == "test", "row"])
    assert list(frame.columns) == ["row", "y_true", "y_pred", "proba_benign", "proba_malignant"]
    assert (frame["y_pred"] == expected).all()
    accuracy = float((frame["y_true"] == frame["y_pred"]).mean())
    assert metrics["test"]["model"]["accuracy"]["value"] == pytest.approx(accuracy)
    # expected cost on test, with an interval, beside the baseline
    assert metrics["costs"] == {"tp": 0.0, "fp": 1.0, "fn": 10.0, "tn": 0.0}
    cost = metrics["expected_cost"]["test"]
    truth, pred = frame["y_true"] == "malignant", frame["y_pred"] == "malignant"
    by_hand = ((~truth & pred).sum() + 10 * (truth & ~pred).sum()) / len(frame)
    assert cost["model"]["value"] == pytest.approx(by_hand)
    assert cost["model"]["low"] <= by_hand <= cost["model"]["high"]
    assert cost["baseline"]["value"] > cost["model"]["value"]
    assert_plots(
        run_dir,
        metrics["plots"],
        {"confusion_matrix", "roc", "precision_recall", "calibration", "threshold"},
    )
    assert all("statement" in v for v in metrics["success_criteria"])


def _test_features(run_dir: Path) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.index = frame.index + 1  # mlconf numbers data rows from 1
    rows = pd.read_csv(run_dir / "data" / "predictions.csv")["row"]
    return frame.loc[rows]


@pytest.mark.slow
def test_regression_run_writes_residual_plots_and_predictions(
    trained: Callable[[Sequence[str]], RunResult],
) -> None:
    result = trained(["experiment=diabetes", *FAST])  # the preset's run, shared
    metrics = result.metrics
    assert metrics["threshold"] is None and metrics["expected_cost"] is None
    assert_plots(
        result.run_dir,
        metrics["plots"],
        {"predicted_vs_actual", "residuals", "residual_histogram"},
    )
    frame = pd.read_csv(result.run_dir / metrics["predictions"])
    assert list(frame.columns) == ["row", "y_true", "y_pred", "residual"]
    split = pd.read_csv(result.run_dir / "data" / "split.csv")
    assert len(frame) == int((split["part"] == "test").sum())


@pytest.mark.slow
def test_multiclass_run_plots_and_threshold_error(
    trained: Callable[[Sequence[str]], RunResult], tmp_path: Path
) -> None:
    result = trained(["experiment=wine", *FAST])  # the preset's run, shared
    assert_plots(result.run_dir, result.metrics["plots"], {"confusion_matrix", "roc"})
    frame = pd.read_csv(result.run_dir / "data" / "predictions.csv")
    classes = ["class_0", "class_1", "class_2"]
    assert [c for c in frame.columns if c.startswith("proba_")] == [f"proba_{c}" for c in classes]
    assert set(frame["y_pred"]) <= set(classes)
    with pytest.raises(MlconfError) as err:
        run_train(["experiment=wine", *FAST, "problem.threshold.optimize=f1"], tmp_path / "run2")
    assert err.value.where == "problem.threshold.optimize"
    assert "3 classes" in str(err.value)


def test_bad_usage_fails_before_reading_data(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as err:
        run_train([*FAST, "problem.usage=realtime"], tmp_path / "run")
    assert err.value.where == "problem.usage"
    assert "Did you mean 'real_time'?" in str(err.value)
    assert not (tmp_path / "run" / "run.json").exists()


def test_costs_can_be_set_or_extended_from_the_command_line() -> None:
    """The CLI passes problem.costs overrides as `++` (config.command_line.open_free_form)."""
    from helpers import compose_train

    from mlconf.config.command_line import open_free_form
    from mlconf.runner import typed

    wine = typed(compose_train(open_free_form(["experiment=wine", "problem.costs={fp: 1}"])))
    assert wine.problem.costs == {"fp": 1}
    cancer = typed(compose_train(open_free_form(["problem.costs.fp=2", "problem.costs.xx=1"])))
    assert cancer.problem.costs == {"tp": 0, "fp": 2, "fn": 10, "tn": 0, "xx": 1}
    with pytest.raises(MlconfError, match="unknown outcome 'xx'"):
        cost_matrix(cancer.problem)


def stage_context(tmp_path: Path, validation_labels: list[str]) -> Any:
    """A run context after `train`: a fitted model on two classes, and a validation part."""
    from helpers import compose_train, quiet_console
    from sklearn.linear_model import LogisticRegression

    from mlconf.ml.target import TrainingData
    from mlconf.run_state import RunState
    from mlconf.runner import typed
    from mlconf.store.runs import RunRecord

    conf = typed(compose_train([*FAST, "problem.threshold.optimize=cost"]))
    conf.problem.target = "y"
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=40), "y": ["a", "b"] * 20})
    validation = pd.DataFrame(
        {"x": rng.normal(size=len(validation_labels)), "y": validation_labels}
    )
    ctx = RunState(
        conf=conf,
        run_dir=tmp_path,
        record=RunRecord(run_dir=tmp_path, experiment="t", seed=0),
        console=quiet_console(),
    )
    ctx.parts = {"train": train, "validation": validation, "test": validation}
    y = (train["y"] == "b").astype(int).to_numpy()
    ctx.training = TrainingData(columns=["x"], classes=["a", "b"], x=train[["x"]], y=y)
    ctx.pipeline = LogisticRegression().fit(train[["x"]], (train["y"] == "b").astype(int))
    return ctx


def test_single_class_validation_in_a_run_warns_and_keeps_half(tmp_path: Path) -> None:
    from mlconf.stages.train import choose_threshold as choose

    ctx = stage_context(tmp_path, ["a"] * 6)
    choose(ctx)
    assert threshold_of(ctx.pipeline) == 0.5
    assert ctx.threshold.method == "fallback"
    assert any("all negative" in w for w in ctx.record.warnings)


def test_empty_validation_part_is_an_error(tmp_path: Path) -> None:
    from mlconf.stages.train import choose_threshold as choose

    ctx = stage_context(tmp_path, [])
    with pytest.raises(MlconfError) as err:
        choose(ctx)
    assert err.value.where == "problem.threshold.optimize"
    assert "split.validation_size" in str(err.value)


@pytest.mark.slow
def test_summary_states_threshold_cost_and_each_criterion(cost_run: RunResult) -> None:
    from helpers import quiet_console

    from mlconf.cli.summary import print_summary

    console = quiet_console()
    print_summary(cost_run, console)
    text = console.export_text()
    assert "chosen by cost on validation" in text
    assert "expected cost per test row:" in text
    for verdict in cost_run.metrics["success_criteria"]:
        assert f"success criterion {verdict['statement']}" in text
