"""Issue 18: tuning starts from the default and a portfolio, learns tree counts, and
searches across model families under one budget."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pandas as pd
import pytest
from helpers import TUNE_FAST as FAST
from helpers import TUNE_ONLY, run_train

from mlconf.core.errors import MlconfError

XGB = ["search=xgboost", "search.space.n_estimators.value=300", "tune.pruner=none"]


def test_the_default_is_scored_first_then_the_portfolio_and_never_lost(tmp_path: Path) -> None:
    result = run_train([*XGB, "tune.n_trials=3", *FAST, *TUNE_ONLY], tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    assert list(trials["user_attr_start"]) == ["default", "portfolio", "portfolio"]
    # the default trial runs model.params as an untuned run does: the space is not asked
    assert trials.filter(like="param_").iloc[0].isna().all()
    first = trials.iloc[1]  # the first portfolio entry of conf/search/xgboost.yaml
    assert (first["param_learning_rate"], first["param_max_leaves"]) == (0.15, 200)
    best = json.loads((result.run_dir / "best_params.json").read_text())
    assert best["roc_auc"] >= trials["value"].iloc[0]  # never worse than the default
    assert best["roc_auc"] == pytest.approx(trials["value"].max())


def test_when_nothing_beats_the_default_the_default_is_trained(tmp_path: Path) -> None:
    # a portfolio entry made poor on purpose: one shallow stump per round, few rounds
    poor = "search.portfolio=[{learning_rate: 0.01, max_depth: 2}]"
    overrides = [*XGB, poor, "search.space.n_estimators.value=3", "tune.n_trials=2", *FAST]
    result = run_train(overrides, tmp_path / "run")
    best = json.loads((result.run_dir / "best_params.json").read_text())
    assert best["default"] is True and best["trial"] == 0
    manifest = json.loads((result.run_dir / "model" / "manifest.json").read_text())
    assert manifest["model"]["params"]["n_estimators"] == 200  # conf/model/xgboost.yaml


def test_boosting_learns_its_tree_count_and_refits_with_the_median(tmp_path: Path) -> None:
    overrides = [*XGB, "tune.default_first=false", "tune.n_trials=1", *FAST]
    result = run_train(overrides, tmp_path / "run")
    best = json.loads((result.run_dir / "best_params.json").read_text())
    trees = best["trees_per_fold"]
    assert len(trees) == 2 and all(1 <= t <= 300 for t in trees)
    params = best["params"]
    assert params["n_estimators"] == round(statistics.median(trees))
    assert params["early_stopping_rounds"] is None  # the final fit trains exactly that many
    import mlconf

    model = mlconf.load_model(result.run_dir / "model").pipeline[-1]
    assert model.get_booster().num_boosted_rounds() == params["n_estimators"]


def test_hist_gb_tree_count_comes_from_its_own_early_stopping() -> None:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mlconf.ml.tuning.trees import fold_trees, refit_params

    x, y = make_classification(n_samples=400, random_state=0)
    params = {"max_iter": 500, "early_stopping": True, "n_iter_no_change": 5}
    model = HistGradientBoostingClassifier(random_state=0, **params).fit(x, y)
    assert fold_trees(model) == model.n_iter_ < 500
    assert refit_params(params, [10, 30, 20]) == {**params, "max_iter": 20, "early_stopping": False}
    assert fold_trees(HistGradientBoostingClassifier(max_iter=5).fit(x, y)) is None


def test_auto_searches_the_families_and_ranks_each_ones_best(tmp_path: Path) -> None:
    overrides = ["search=auto", "tune.n_trials=5", "tune.pruner=none", *FAST]
    result = run_train(overrides, tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    families = ["xgboost", "hist_gb", "logistic", "random_forest"]
    assert list(trials["param_model"][:4]) == families  # each family's default first
    assert list(trials["user_attr_start"][:4]) == ["default"] * 4
    board = pd.read_csv(result.run_dir / "leaderboard.csv")
    assert sorted(board["model"]) == sorted(families)
    assert list(board["rank"]) == [1, 2, 3, 4]
    assert board["roc_auc_mean"].is_monotonic_decreasing
    best = json.loads((result.run_dir / "best_params.json").read_text())
    assert best["model"] == board["model"].iloc[0]
    assert best["roc_auc"] == pytest.approx(board["roc_auc_mean"].iloc[0])
    manifest = json.loads((result.run_dir / "model" / "manifest.json").read_text())
    assert manifest["model"]["name"] == best["model"]


def test_a_range_that_excludes_the_default_is_named(tmp_path: Path) -> None:
    overrides = [*XGB, "search.space.max_depth.low=8", "tune.n_trials=1", *FAST, *TUNE_ONLY]
    result = run_train(overrides, tmp_path / "run")
    warnings = json.loads((result.run_dir / "run.json").read_text())["warnings"]
    hits = [w for w in warnings if "search.space.max_depth" in w]
    assert hits and "max_depth=6" in hits[0] and "trial 0" in hits[0], warnings
    # the portfolio entries the narrowed range cannot take are skipped, and said so
    assert any("search.portfolio[4] skipped: max_depth=3" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("overrides", "where", "message"),
    [
        (["search.portfolio=[{max_dept: 3}]"], "search.portfolio[0]", "max_dept"),
        (["search.portfolio=[3]"], "search.portfolio[0]", "must map parameter names"),
        (["tune.n_jobs=0"], "tune.n_jobs", "1 or more"),
        (["tune.total_trials=4", "tune.n_jobs=2"], "tune.n_jobs", "with tune.total_trials"),
    ],
)
def test_bad_starts_fail_before_loading(
    tmp_path: Path, overrides: list[str], where: str, message: str
) -> None:
    with pytest.raises(MlconfError, match=message) as caught:
        run_train(["search=xgboost", *overrides, *FAST], tmp_path / "run")
    assert where in str(caught.value.where)
    assert not (tmp_path / "run" / "run.json").exists()


def test_an_auto_space_names_its_misnamed_parameter(tmp_path: Path) -> None:
    bad = "++search.space.C={type: float, low: 1, high: 2}"
    with pytest.raises(MlconfError, match="<family>__") as caught:
        run_train(["search=auto", bad, *FAST], tmp_path / "run")
    assert caught.value.where == "search.space.C"
    assert not (tmp_path / "run" / "run.json").exists()


def test_auto_on_regression_leaves_out_what_only_the_classifier_takes(tmp_path: Path) -> None:
    """`logistic` is least squares for regression: it takes no C, so sampling it must not
    fail the trial (it did: "model 'logistic' has no parameter 'C'")."""
    # an entry may name what the regression family does not take: it runs without it
    logistic = "search.portfolio=[{model: logistic, logistic__C: 0.5}]"
    overrides = ["experiment=diabetes", "search=auto", logistic, "tune.n_trials=1"]
    overrides += ["tune.default_first=false", *FAST, *TUNE_ONLY]
    result = run_train(overrides, tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    assert list(trials["param_model"]) == ["logistic"] and trials["state"].iloc[0] == "COMPLETE"
    assert not any("logistic__C" in column for column in trials.columns)
    warnings = json.loads((result.run_dir / "run.json").read_text())["warnings"]
    assert any("logistic__C, logistic__max_iter left out" in w for w in warnings), warnings


def test_a_parameter_no_estimator_of_the_family_takes_fails_before_loading(
    tmp_path: Path,
) -> None:
    typo = "++search.space.logistic__Cc={type: float, low: 0.1, high: 1, when: {model: logistic}}"
    with pytest.raises(MlconfError, match="no parameter 'Cc'") as caught:
        run_train(["search=auto", typo, *FAST], tmp_path / "run")
    assert caught.value.where == "config key search.space.logistic__Cc"
    assert "C" in str(caught.value.fix)
    assert not (tmp_path / "run" / "run.json").exists()


def test_parallel_trials_keep_the_default_first(tmp_path: Path) -> None:
    overrides = ["search=logistic", "model=logistic", "tune.n_jobs=2", "tune.n_trials=4"]
    overrides += [*FAST, *TUNE_ONLY]
    result = run_train(overrides, tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    assert len(trials) == 4 and (trials["state"] == "COMPLETE").all()
    assert trials["user_attr_start"].iloc[0] == "default"
    best = json.loads((result.run_dir / "best_params.json").read_text())
    assert best["roc_auc"] >= trials["value"].iloc[0]


def test_hyperband_over_boosting_rounds_never_prunes_the_default(tmp_path: Path) -> None:
    """Multi-fidelity: hyperband brackets over the rounds each trial reports; the default
    reports none, so no bracket can stop it."""
    overrides = [
        "search=xgboost",
        "search.space.n_estimators.value=60",
        "model.params.n_estimators=60",
        "tune.pruner=hyperband",
        "++tune.pruner_params={min_resource: 5, reduction_factor: 3}",
        "tune.prune_every_rounds=5",
        "tune.sampler=random",
        "tune.n_trials=6",
        *FAST,
        *TUNE_ONLY,
    ]
    result = run_train(overrides, tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    assert trials["state"].iloc[0] == "COMPLETE" and trials["user_attr_start"].iloc[0] == "default"
    assert set(trials["state"]) <= {"COMPLETE", "PRUNED"} and len(trials) == 6
