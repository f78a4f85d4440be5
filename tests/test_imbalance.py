"""A rare class gets help: the fix in the warning, class weighting, a warning when the
threshold rests on too few positives, and no registration for a model the dummy beats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import compose_train, quiet_console
from sklearn.linear_model import LogisticRegression

from mlconf.core.errors import MlconfError
from mlconf.ml.baseline_gate import baseline_shortfalls
from mlconf.ml.training import fit
from mlconf.run_state import RunState
from mlconf.runner import preflight, typed
from mlconf.stages.register_model import register
from mlconf.store.runs import RunRecord


def metrics(model: float, baseline: float, costs: tuple[float, float] | None = None) -> dict:
    document: dict[str, Any] = {
        "primary_metric": "balanced_accuracy",
        "test": {
            "model": {"balanced_accuracy": {"value": model}},
            "baseline": {"balanced_accuracy": {"value": baseline}},
        },
        "success_criteria": [],
        "passed": True,
    }
    if costs is not None:
        document["expected_cost"] = {
            "test": {"model": {"value": costs[0]}, "baseline": {"value": costs[1]}}
        }
    return document


def test_a_model_no_better_than_the_baseline_falls_short_on_the_metric_and_on_cost() -> None:
    assert baseline_shortfalls(metrics(0.9, 0.5, (0.1, 0.3)), greater_is_better=True) == []
    reasons = baseline_shortfalls(metrics(0.5, 0.5, (0.4, 0.3)), greater_is_better=True)
    assert len(reasons) == 2
    assert "does not beat the dummy baseline's 0.5" in reasons[0]
    assert "expected cost per row 0.4 is not below" in reasons[1]
    assert baseline_shortfalls(metrics(2.0, 3.0), greater_is_better=False) == []  # an error


def test_the_register_stage_skips_a_model_the_baseline_beats_and_says_why(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    conf = typed(compose_train([f"deploy.registry_url={url}"]))
    conf.problem.primary_metric = "balanced_accuracy"
    record = RunRecord(run_dir=tmp_path, experiment="t", seed=0)
    state = RunState(conf=conf, run_dir=tmp_path, record=record, console=quiet_console())
    state.metrics = metrics(0.48, 0.5)
    register(state)
    assert record.counts["registered"] is None
    assert any("not registered: balanced_accuracy 0.48 does not beat" in w for w in record.warnings)
    assert not (tmp_path / "r.db").exists()


def test_balanced_class_weights_make_a_rare_class_predicted() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=2000)})
    y = ((x["a"] + rng.normal(scale=1.5, size=2000)) > 3.2).astype(int).to_numpy()
    plain = fit(LogisticRegression(), x, y, "logistic")
    weighted = fit(LogisticRegression(), x, y, "logistic", class_weight="balanced")
    assert weighted.predict(x).sum() > 5 * max(plain.predict(x).sum(), 1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["problem.class_weight=heavy"], "unknown class weighting 'heavy'"),
        (["problem.class_weight=balanced", "model=knn"], "model 'knn' cannot weight rows"),
        (
            ["experiment=diabetes", "problem.class_weight=balanced"],
            "class weighting applies to classification only",
        ),
    ],
)
def test_class_weighting_is_checked_before_any_data(overrides: list[str], message: str) -> None:
    conf = typed(compose_train(overrides))
    with pytest.raises(MlconfError) as info:
        preflight(conf)
    assert message in info.value.what
    assert info.value.where == "problem.class_weight"


def test_the_imbalance_finding_says_what_to_do() -> None:
    found = quality_findings_for_rare_class()
    assert "problem.class_weight=balanced" in found
    assert "problem.threshold.optimize" in found


def quality_findings_for_rare_class() -> str:
    from mlconf.config import ExploreConfig
    from mlconf.ml.explore import profile_and_heatmap

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=400), "y": ["no"] * 392 + ["yes"] * 8})
    profile, _ = profile_and_heatmap(
        frame, target="y", task="classification", config=ExploreConfig()
    )
    return " ".join(w["message"] for w in profile["warnings"])


def test_a_threshold_from_few_positives_is_flagged(tmp_path: Path) -> None:
    from helpers import FAST
    from sklearn.linear_model import LogisticRegression as Logistic

    from mlconf.ml.target import TrainingData
    from mlconf.stages.train import choose_threshold

    conf = typed(compose_train([*FAST, "problem.threshold.optimize=f1"]))
    conf.problem.target = "y"
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=40), "y": ["a", "b"] * 20})
    validation = pd.DataFrame({"x": rng.normal(size=60), "y": ["a"] * 55 + ["b"] * 5})
    state = RunState(
        conf=conf,
        run_dir=tmp_path,
        record=RunRecord(run_dir=tmp_path, experiment="t", seed=0),
        console=quiet_console(),
    )
    state.parts = {"train": train, "validation": validation, "test": validation}
    y = (train["y"] == "b").astype(int).to_numpy()
    state.training = TrainingData(columns=["x"], classes=["a", "b"], x=train[["x"]], y=y)
    state.pipeline = Logistic().fit(train[["x"]], y)
    choose_threshold(state)
    assert any("only 5 positive validation row(s)" in w for w in state.record.warnings)
