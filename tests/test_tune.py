"""Tuning through the runner: search spaces from conf/search, resumable studies, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import TUNE_FAST as FAST
from helpers import TUNE_ONLY, run_train

from mlconf.core.errors import MlconfError

SMALL_XGB = ["search=xgboost", "search.space.n_estimators.value=100"]


def test_search_space_tunes_and_trains_the_best_params(tmp_path: Path) -> None:
    result = run_train([*SMALL_XGB, "tune.n_trials=4", *FAST], tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    assert len(trials) == 4
    assert {"number", "state", "value", "param_n_estimators", "param_max_depth"} <= set(trials)
    best = json.loads((result.run_dir / "best_params.json").read_text())
    assert best["model"] == "xgboost"
    assert best["roc_auc"] == pytest.approx(trials["value"].max())
    manifest = json.loads((result.run_dir / "model" / "manifest.json").read_text())
    assert manifest["model"]["params"] == best["params"]
    assert "tune" in json.loads((result.run_dir / "run.json").read_text())["stages"]
    for plot in ("optimization_history.png", "param_importances.png"):
        assert (result.run_dir / "plots" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conditional_params_appear_only_when_active(tmp_path: Path) -> None:
    result = run_train(
        [
            *SMALL_XGB,
            "tune.n_trials=8",
            "tune.sampler=random",
            "tune.pruner=none",
            *FAST,
            *TUNE_ONLY,
        ],
        tmp_path / "run",
    )
    trials = pd.read_csv(result.run_dir / "trials.csv")
    lossguide = trials["param_grow_policy"] == "lossguide"
    assert trials.loc[lossguide, "param_max_leaves"].notna().all()
    assert trials.loc[~lossguide, "param_max_leaves"].isna().all()


def test_a_sqlite_study_resumes_with_every_finished_trial(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    overrides = [
        "experiment=wine",
        "search=logistic",
        "model=logistic",
        "tune.n_trials=3",
        f"tune.storage={storage}",
        "tune.study_name=wine-logistic",
        *FAST,
        *TUNE_ONLY,
    ]
    run_train(overrides, tmp_path / "first")
    second = run_train(overrides, tmp_path / "second")
    trials = pd.read_csv(second.run_dir / "trials.csv")
    assert list(trials["number"]) == [0, 1, 2, 3, 4, 5]
    record = json.loads((second.run_dir / "run.json").read_text())
    assert record["counts"]["tuning"] == {"trials": 3, "study_trials": 6, "sampler_seed": 42}


def test_a_space_for_another_model_fails_before_loading(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="search space is for model 'random_forest'"):
        run_train(["search=random_forest", "model=xgboost", *FAST], tmp_path / "run")
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_bad_space_is_named(tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as caught:
        run_train(
            ["search=logistic", "model=logistic", "search.space.C.type=floot", *FAST],
            tmp_path / "run",
        )
    assert "search.space.C" in str(caught.value)
    assert "float" in str(caught.value)


def test_an_unknown_sampler_is_named(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="tpe"):
        run_train(
            ["search=logistic", "model=logistic", "tune.sampler=tpee", *FAST], tmp_path / "run"
        )


def test_xgboost_stops_early_on_the_validation_part(tmp_path: Path) -> None:
    import mlconf

    result = run_train(
        [
            "model.params.n_estimators=500",
            "model.params.early_stopping_rounds=5",
            "model.params.learning_rate=0.3",
            "metrics.bootstrap=0",
        ],
        tmp_path / "run",
    )
    model = mlconf.load_model(result.run_dir / "model").pipeline[-1]
    assert model.best_iteration < 499


def test_early_stopping_applies_inside_tuning_folds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fold of every trial watches its held-out rows and stops on them."""
    import xgboost

    fits: list[dict[str, Any]] = []
    original = xgboost.XGBClassifier.fit

    def watched_fit(self: Any, x: Any, y: Any, **kwargs: Any) -> Any:
        fitted = original(self, x, y, **kwargs)
        watched = kwargs.get("eval_set") or [([], None)]
        booster = fitted.get_booster()
        fits.append(
            {
                "rows": len(x) + len(watched[0][0]),
                "watched": len(watched[0][0]),
                "stopped_at": booster.attr("best_iteration"),  # set only by early stopping
                "rounds": booster.num_boosted_rounds(),
                "n_estimators": self.n_estimators,
            }
        )
        return fitted

    monkeypatch.setattr(xgboost.XGBClassifier, "fit", watched_fit)
    result = run_train(
        [*SMALL_XGB, "tune.n_trials=2", "tune.pruner=none", "model.params.early_stopping_rounds=5",
         "search.space.early_stopping_rounds.value=5", *FAST],
        tmp_path / "run",
    )  # fmt: skip
    folds = fits[:4]  # 2 trials x 2 folds, then the final fit on training + validation rows
    assert len(fits) == 5 and (result.run_dir / "best_params.json").is_file()
    training_rows = folds[0]["rows"]
    for fold in folds:  # the held-out fold is watched: about half the training rows each
        assert fold["rows"] == training_rows and abs(2 * fold["watched"] - training_rows) <= 1
        assert fold["stopped_at"] is not None, fold
        assert fold["rounds"] == int(fold["stopped_at"]) + 1 + 5 or (
            fold["rounds"] == fold["n_estimators"]
        ), fold
    assert any(fold["rounds"] < fold["n_estimators"] for fold in folds), folds


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    import subprocess
    import sys

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [
        sys.executable,
        "-m",
        "mlconf.cli.main",
        "train",
        "experiment=wine",
        "model=logistic",
        "search=logistic",
        "tune.n_trials=4",
        f"tune.storage={storage}",
        "tune.study_name=shared",
        *FAST,
        *TUNE_ONLY,
    ]
    workers = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()
    import optuna

    study = optuna.load_study(study_name="shared", storage=storage)
    states = [t.state.name for t in study.trials]
    assert len(states) == 8  # each worker adds its own n_trials to the one study
    assert states.count("COMPLETE") + states.count("PRUNED") == 8


def test_the_same_seed_gives_the_same_trials(tmp_path: Path) -> None:
    overrides = [*SMALL_XGB, "tune.n_trials=4", *FAST, *TUNE_ONLY]
    first = pd.read_csv(run_train(overrides, tmp_path / "a").run_dir / "trials.csv")
    second = pd.read_csv(run_train(overrides, tmp_path / "b").run_dir / "trials.csv")
    columns = [c for c in first.columns if c.startswith("param_")] + ["value", "state"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("tune.n_trials=0", "tuning needs a budget"),
        ("tune.folds=1", "at least 2 folds"),
        ("tune.timeout=0", "positive number of seconds"),
        ("tune.prune_every_rounds=-1", "prune_every_rounds"),
        ("search.space.C.low=1000", "search.space.C"),
    ],
)
def test_tuning_mistakes_fail_before_loading(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(MlconfError, match=message):
        run_train(["search=logistic", "model=logistic", *FAST, override], tmp_path / "run")
    assert not (tmp_path / "run" / "run.json").exists()


def test_xgboost_trials_are_pruned_between_boosting_rounds(tmp_path: Path) -> None:
    """Intermediate values land on round steps (fold * stride + round), not on fold steps."""
    import optuna

    storage = f"sqlite:///{tmp_path / 'rounds.db'}"
    overrides = [
        *SMALL_XGB,
        "tune.n_trials=8",
        "tune.pruner=median",
        "++tune.pruner_params.n_startup_trials=2",
        "tune.prune_every_rounds=5",
        f"tune.storage={storage}",
        "tune.study_name=rounds",
        *FAST,
        *TUNE_ONLY,
    ]
    run_train(overrides, tmp_path / "run")
    study = optuna.load_study(study_name="rounds", storage=storage)
    steps = sorted({s for t in study.trials for s in t.intermediate_values})
    assert steps[:3] == [5, 10, 15]
    assert all(step % 5 == 0 for step in steps)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned, "the median pruner stopped no trial"
    # A pruned trial stopped inside a fold: its last report is not the end of a fold.
    assert any(max(t.intermediate_values) % 100 for t in pruned)


def test_models_without_round_scores_prune_per_fold(tmp_path: Path) -> None:
    import optuna

    storage = f"sqlite:///{tmp_path / 'folds.db'}"
    run_train(
        [
            "experiment=wine",
            "search=logistic",
            "model=logistic",
            "tune.n_trials=2",
            f"tune.storage={storage}",
            "tune.study_name=folds",
            *FAST,
            *TUNE_ONLY,
        ],
        tmp_path / "run",
    )
    study = optuna.load_study(study_name="folds", storage=storage)
    assert {s for t in study.trials for s in t.intermediate_values} == {0, 1}


def test_round_metric_matches_the_primary_metric() -> None:
    from mlconf.ml.tuning.rounds import round_metric

    binary = round_metric("roc_auc", "classification", 2)
    assert binary is not None and binary.eval_metric == "auc"
    accuracy = round_metric("accuracy", "classification", 3)
    assert accuracy is not None and accuracy.eval_metric == "merror"
    assert accuracy.to_primary(0.25) == 0.75
    assert round_metric("roc_auc", "classification", 3) is None
    assert round_metric("r2", "regression", 0) is None
    rmse = round_metric("rmse", "regression", 0)
    assert rmse is not None and rmse.eval_metric == "rmse"


def test_rounds_are_reported_at_equal_progress_whatever_the_learning_rate() -> None:
    """A trial at a fifth of the top learning rate reports at the same steps as the fastest
    one, after five times the rounds: it is judged against them at equal progress."""
    from mlconf.ml.tuning.rounds import RoundPruning, pruning_callback, round_metric

    metric = round_metric("roc_auc", "classification", 2)
    assert metric is not None
    pruning = RoundPruning(metric, stride=1000, top_rate=0.3)
    assert pruning.pace(0.06) == pytest.approx(0.2)
    assert pruning.pace(None) == 1.0  # xgboost's own 0.3
    assert pruning.pace(0.5) == 1.0  # above the top: never beyond the fold's stride

    class Trial:
        def __init__(self) -> None:
            self.steps: dict[int, int] = {}  # step -> the round it was reported at
            self.rounds = 0

        def report(self, value: float, step: int) -> None:
            self.steps[step] = self.rounds

        def should_prune(self) -> bool:
            return False

    for rate, rounds in ((0.3, 30), (0.06, 150)):
        trial = Trial()
        callback = pruning_callback(trial, 1, metric, 1000, 10, pruning.pace(rate))
        for epoch in range(rounds):
            trial.rounds = epoch + 1
            callback.after_iteration(None, epoch, {"validation_0": {"auc": [0.5]}})
        assert sorted(trial.steps) == [1010, 1020, 1030]
        assert trial.steps[1010] == rounds // 3


def test_a_fold_model_reports_at_its_own_pace_from_its_learning_rate() -> None:
    """The pace comes from the fold's model itself (`learning_rate`, or its alias `eta`) and
    the space's highest rate: xgboost fitted for real, its reports caught."""
    from sklearn.datasets import load_breast_cancer
    from xgboost import XGBClassifier

    from mlconf.ml.tuning.rounds import RoundPruning, fold_callbacks, round_metric
    from mlconf.ml.tuning.rounds import _top_rate as top_rate
    from mlconf.ml.tuning.space import parse_space

    metric = round_metric("roc_auc", "classification", 2)
    assert metric is not None
    space = parse_space({"learning_rate": {"type": "float", "low": 0.01, "high": 0.3}})
    assert top_rate(space, {}) == 0.3
    depth = parse_space({"max_depth": {"type": "int", "low": 2, "high": 4}})
    assert top_rate(depth, {}) == 0.3  # xgboost's own rate for every trial
    assert top_rate(depth, {"eta": 0.2}) == 0.2
    assert top_rate(depth, {"learning_rate": "fast"}) == 0.3  # not a number
    pruning = RoundPruning(metric, stride=1000, top_rate=0.3)
    x, y = load_breast_cancer(return_X_y=True)

    class Trial:
        def __init__(self) -> None:
            self.steps: list[int] = []

        def report(self, value: float, step: int) -> None:
            self.steps.append(step)

        def should_prune(self) -> bool:
            return False

    class NoDeadline:
        seconds = None

    for rate in ({"learning_rate": 0.06}, {"eta": 0.06}, {"learning_rate": 0.3}):
        model = XGBClassifier(n_estimators=50, eval_metric="auc", n_jobs=1, **rate)
        trial = Trial()
        model.set_params(callbacks=fold_callbacks(trial, 0, pruning, 5, NoDeadline(), None, model))
        model.fit(x, y, eval_set=[(x, y)], verbose=False)
        slow = rate.get("learning_rate") != 0.3
        assert trial.steps == ([5, 10] if slow else list(range(5, 55, 5))), rate


def test_a_timeout_shorter_than_one_trial_is_reported(tmp_path: Path) -> None:
    result = run_train(
        [*SMALL_XGB, "tune.n_trials=0", "tune.timeout=0.001", *FAST], tmp_path / "run"
    )
    warnings = json.loads((result.run_dir / "run.json").read_text())["warnings"]
    assert any(
        "shorter than one trial" in w and "tune.timeout" in w and "default configuration" in w
        for w in warnings
    )
    assert len(pd.read_csv(result.run_dir / "trials.csv")) == 1


def test_the_best_trials_params_reproduce_its_score(tmp_path: Path) -> None:
    """Training with the best params and the same folds gives the best trial's CV score."""
    # Without early stopping: a learned tree count would replace the trial's own folds' counts.
    no_stop = "search.space.early_stopping_rounds.value=null"
    tuned = run_train([*SMALL_XGB, no_stop, "tune.n_trials=3", *FAST], tmp_path / "tuned")
    best = json.loads((tuned.run_dir / "best_params.json").read_text())
    again = run_train([*best["overrides"], "split.folds=2", *FAST], tmp_path / "again")
    cv = json.loads((again.run_dir / "metrics.json").read_text())["cv"]
    assert cv["roc_auc"]["mean"] == pytest.approx(best["roc_auc"], abs=1e-12)


def test_progress_off_a_terminal_prints_one_line_per_trial(tmp_path: Path) -> None:
    from helpers import quiet_console

    console = quiet_console()
    run_train([*SMALL_XGB, "tune.n_trials=3", *FAST, *TUNE_ONLY], tmp_path / "run", console=console)
    lines = [line for line in console.export_text().splitlines() if "  trial " in line]
    assert len(lines) == 3
    assert all("best roc_auc" in line for line in lines)


def test_storage_and_direction_mistakes_fail_before_loading(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = [*SMALL_XGB, "tune.n_trials=1", f"tune.storage={storage}", *FAST]
    run_train([*common, "tune.study_name=auc"], tmp_path / "first")
    with pytest.raises(MlconfError, match="created to maximize, not to minimize") as caught:
        run_train(
            [*common, "tune.study_name=auc", "problem.primary_metric=log_loss"], tmp_path / "two"
        )
    assert caught.value.where == "config key tune.study_name"
    assert not (tmp_path / "two" / "run.json").exists()
    with pytest.raises(MlconfError, match="cannot open the study storage nonsense://"):
        run_train([*SMALL_XGB, "tune.storage=nonsense://", *FAST], tmp_path / "three")
    assert not (tmp_path / "three" / "run.json").exists()


def test_early_stopping_without_a_validation_part_trains_every_tree(tmp_path: Path) -> None:
    result = run_train(
        [
            "split.validation_size=0",
            "model.params.early_stopping_rounds=5",
            "model.params.n_estimators=30",
            *FAST,
        ],
        tmp_path / "run",
    )
    warnings = json.loads((result.run_dir / "run.json").read_text())["warnings"]
    assert any("split.validation_size=0" in w for w in warnings)
    assert (result.run_dir / "model" / "manifest.json").is_file()
