"""Model selection: candidates cross-validated on the training part, the best one trained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import NO_EXTRAS, run_train

from mlconf.config import ModelConfig
from mlconf.core.errors import MlconfError
from mlconf.runner import RunResult
from mlconf.stages.select import candidate_models, label

SELECT = [
    "experiment=wine",
    "metrics.bootstrap=0",
    "model_selection.folds=3",
    "model_selection.candidates=[logistic,{name: knn, params: {n_neighbors: 3}},"
    "{name: random_forest, params: {n_estimators: 20}}]",
    *NO_EXTRAS,
]


@pytest.fixture(scope="module")
def selected(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_train(SELECT, tmp_path_factory.mktemp("select") / "run")


def test_leaderboard_ranks_every_candidate_and_the_baseline(selected: RunResult) -> None:
    board = pd.read_csv(selected.run_dir / "leaderboard.csv")
    assert list(board["rank"]) == [1, 2, 3, 4]
    assert set(board["candidate"]) == {
        "logistic",
        "knn(n_neighbors=3)",
        "random_forest(n_estimators=20)",
        "dummy",
    }
    for column in ("f1_mean", "f1_std", "fit_seconds_mean", "predict_seconds_mean"):
        assert column in board.columns
    assert board["f1_mean"].is_monotonic_decreasing  # f1 is the primary metric: higher is better
    assert board.iloc[-1]["candidate"] == "dummy"


def test_the_best_candidate_is_trained_and_recorded(selected: RunResult) -> None:
    board = pd.read_csv(selected.run_dir / "leaderboard.csv")
    record = json.loads((selected.run_dir / "run.json").read_text())
    assert record["counts"]["selected_model"] == board.iloc[0]["candidate"]
    manifest = json.loads((selected.run_dir / "model" / "manifest.json").read_text())
    assert manifest["model"]["name"] == board.iloc[0]["model"]
    assert "select" in record["stages"]


def test_lower_is_better_metrics_rank_ascending(tmp_path: Path) -> None:
    result = run_train(
        [
            "experiment=diabetes",
            "metrics.bootstrap=0",
            "model_selection.folds=2",
            "model_selection.candidates=[ridge,linear]",
            *NO_EXTRAS,
        ],
        tmp_path / "run",
    )
    board = pd.read_csv(result.run_dir / "leaderboard.csv")
    assert board["rmse_mean"].is_monotonic_increasing
    assert board.iloc[-1]["candidate"] == "dummy"


def test_no_candidates_means_no_selection(tmp_path: Path) -> None:
    result = run_train(
        ["experiment=wine", "metrics.bootstrap=0", "model=logistic", *NO_EXTRAS], tmp_path / "r"
    )
    assert not (result.run_dir / "leaderboard.csv").exists()


def test_candidate_forms() -> None:
    models = candidate_models(["xgboost", {"name": "knn", "params": {"n_neighbors": 3}}])
    assert [m.name for m in models] == ["xgboost", "knn", "dummy"]
    assert label(models[1]) == "knn(n_neighbors=3)"
    assert label(ModelConfig(name="dummy")) == "dummy"


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ("[xgbost]", "unknown model 'xgbost'. Did you mean 'xgboost'?"),
        ("[{name: knn, parms: {}}]", "unknown key(s) ['parms']"),
        ("[{name: knn, params: {n_neighbour: 3}}]", "has no parameter 'n_neighbour'"),
    ],
)
def test_bad_candidates_fail_before_any_fit(tmp_path: Path, candidates: str, message: str) -> None:
    with pytest.raises(MlconfError, match=re.escape(message)):
        run_train(["experiment=wine", f"model_selection.candidates={candidates}"], tmp_path / "run")
