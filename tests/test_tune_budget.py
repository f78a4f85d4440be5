"""`tune.timeout` covers the final fit, and big tables score trials on a holdout (issue 18).

The deadline's clock is replaced where a test depends on when the study stops, so nothing
here depends on how fast the machine is; the other checks are on recorded numbers.
"""

from __future__ import annotations

import ast
import itertools
import json
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import run_train

from mlconf.core.errors import MlconfError
from mlconf.ml.tuning import deadline as deadline_module
from mlconf.ml.tuning import fidelity as fidelity_module
from mlconf.ml.tuning.deadline import Deadline
from mlconf.ml.tuning.fidelity import estimate_refit, fold_too_slow, initial_scoring

FAST = [
    "metrics.bootstrap=0",
    "++model.params.n_jobs=1",
    "tune.pruner=none",
    "explore.enabled=false",
    "explain.enabled=false",
    "report.enabled=false",
]
XGB = ["search=xgboost", "search.space.n_estimators.value=30", "model.params.n_estimators=30"]


def records(run_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    trials = pd.read_csv(run_dir / "trials.csv").to_dict("records")
    for trial in trials:
        lists = ("fit_s", "rounds", "trees", "boost_s", "eval_s")
        for key in (f"user_attr_{name}" for name in lists):
            value = trial.get(key)
            trial[key] = ast.literal_eval(value) if isinstance(value, str) else None
    budget = json.loads((run_dir / "run.json").read_text())["counts"]["tuning_budget"]
    return trials, budget


def test_the_refit_estimate_scales_fold_seconds_by_rows_and_trees() -> None:
    refit = estimate_refit([2.0, 4.0, 3.0], fold_rows=200, train_rows=300, rounds=[90, 110, 100])
    assert refit.seconds == pytest.approx(3.0 * 1.5)  # no refit tree count: trees as trained
    refit = estimate_refit([3.0], fold_rows=200, train_rows=300, rounds=[100], refit_trees=50)
    assert (refit.rows_ratio, refit.trees_ratio) == (1.5, 0.5)
    assert refit.seconds == pytest.approx(3.0 * 1.5 * 0.5)
    assert estimate_refit([], fold_rows=200, train_rows=300).seconds == 0.0


def test_the_reserve_brings_the_deadline_forward() -> None:
    now = [0.0]
    deadline = Deadline(10.0, lambda: now[0])
    deadline.reserve = 4.0
    now[0] = 5.9
    assert not deadline.spent
    now[0] = 6.0
    assert deadline.spent and deadline.stopped_at == 6.0
    now[0] = 8.0
    assert deadline.spent and deadline.stopped_at == 6.0  # when it first fell


def test_holdout_rule() -> None:
    # tune.scoring=auto: rows decide first, a stored study keeps what it was scored with
    assert initial_scoring("auto", None, rows=60_000, holdout_rows=50_000) == "holdout"
    assert initial_scoring("auto", None, rows=40_000, holdout_rows=50_000) == "auto"
    assert initial_scoring("auto", None, rows=10**6, holdout_rows=0) == "auto"
    assert initial_scoring("cv", None, rows=10**6, holdout_rows=50_000) == "cv"
    assert initial_scoring("holdout", None, rows=10, holdout_rows=50_000) == "holdout"
    assert initial_scoring("auto", "cv", rows=10**6, holdout_rows=50_000) == "cv"
    # else the first fold decides: more than the share of the budget, and holdout it is
    assert fold_too_slow(7.0, 60.0, 0.1) and not fold_too_slow(5.0, 60.0, 0.1)
    assert not fold_too_slow(1e6, None, 0.1)  # no timeout: no hurry


def test_a_study_keeps_the_scoring_it_was_tuned_with() -> None:
    import optuna

    from mlconf.config import TuneConfig
    from mlconf.ml.tuning.fidelity import SCORING, Fidelity

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tune = TuneConfig(scoring="auto", holdout_rows=100)
    fresh = optuna.create_study()
    assert Fidelity(fresh, tune, rows=1000).holdout  # big enough: holdout, and stored
    assert fresh.user_attrs[SCORING] == "holdout"
    assert Fidelity(fresh, TuneConfig(scoring="auto"), rows=10).holdout  # resumed: kept
    older = optuna.create_study()  # trials scored before tune.scoring existed: by CV
    older.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    assert Fidelity(older, tune, rows=1000).mode == "cv"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_study_stops_early_enough_for_the_final_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of the deadline's clock is one second (a trial: 3 folds x up to 30 rounds,
    read each round); every refit is estimated at 50 s. The budget of 200 s then ends at
    150 s, not 200 s: the trial running then is stopped, and 50 s stay for the refit."""
    ticks = itertools.count()
    monkeypatch.setattr(deadline_module, "now", lambda: float(next(ticks)))
    monkeypatch.setattr(fidelity_module, "reserve_seconds", lambda refit, tail, timeout: 50.0)
    overrides = [*XGB, "tune.n_trials=0", "tune.timeout=200", "tune.scoring=cv", *FAST]
    trials, budget = records(run_train(overrides, tmp_path / "run").run_dir)
    assert budget["reserve_s"] == 50.0 and budget["scoring"] == "cv"
    assert 150 <= budget["stopped_s"] < 160  # the deadline fell at timeout - reserve
    assert trials[-1]["state"] == "PRUNED" and str(trials[-1]["user_attr_timeout"]) == "True"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_reserve_is_the_best_trials_estimated_refit(tmp_path: Path) -> None:
    overrides = [*XGB, "tune.n_trials=3", "tune.timeout=600", "tune.scoring=cv", *FAST]
    trials, budget = records(run_train(overrides, tmp_path / "run").run_dir)
    best = json.loads((tmp_path / "run" / "best_params.json").read_text())
    chosen = next(t for t in trials if t["number"] == best["trial"])
    refit, tail = chosen["user_attr_refit_s"], chosen["user_attr_tail_s"]
    expected_reserve = fidelity_module.reserve_seconds(refit, tail, 600.0)  # tune.timeout
    assert budget["reserve_s"] == pytest.approx(expected_reserve, abs=0.002)
    assert budget["tail_s"] == pytest.approx(tail) and tail >= fidelity_module.TAIL_FIXED_S
    # (training rows / fold rows) x (set-up + refit trees x seconds per round, not scoring)
    folds = chosen["user_attr_fit_s"]
    assert len(folds) == 3  # tune.folds=3 by default
    loops, evals = chosen["user_attr_boost_s"], chosen["user_attr_eval_s"]
    rounds = chosen["user_attr_rounds"]
    setup = statistics.median(f - b for f, b in zip(folds, loops, strict=True))
    per_round = statistics.median((b - e) / r for b, e, r in zip(loops, evals, rounds, strict=True))
    expected = 3 / 2 * (setup + per_round * best["params"]["n_estimators"])
    assert refit == pytest.approx(expected, rel=0.02, abs=0.003)
    assert budget["stopped_s"] is None  # the trials ran out, not the time


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_big_table_scores_every_trial_on_one_holdout_default_first(tmp_path: Path) -> None:
    """`tune.holdout_rows` below the table's rows: each trial fits one fold, the default
    included, and the best is never worse than the default on it."""
    overrides = [*XGB, "tune.n_trials=4", "tune.holdout_rows=100", *FAST]
    trials, budget = records(run_train(overrides, tmp_path / "run").run_dir)
    assert budget["scoring"] == "holdout"
    assert all(len(t["user_attr_fit_s"]) == 1 for t in trials)
    default = next(t for t in trials if t["user_attr_start"] == "default")
    assert default["number"] == 0 and default["state"] == "COMPLETE"
    best = json.loads((tmp_path / "run" / "best_params.json").read_text())
    assert best["roc_auc"] >= default["value"]
    assert best["roc_auc"] == max(t["value"] for t in trials if t["state"] == "COMPLETE")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_slow_first_fold_switches_the_study_to_the_holdout(tmp_path: Path) -> None:
    """The default's first fold took more than `tune.holdout_share` of the budget: it stops
    there, scored on that fold, like every later trial."""
    overrides = [*XGB, "tune.n_trials=3", "tune.timeout=600", "tune.holdout_share=1e-9", *FAST]
    trials, budget = records(run_train(overrides, tmp_path / "run").run_dir)
    assert budget["scoring"] == "holdout"
    assert [len(t["user_attr_fit_s"]) for t in trials] == [1, 1, 1]
    assert trials[0]["user_attr_start"] == "default"


def test_an_unknown_scoring_is_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match=r"tune\.scoring") as caught:
        run_train([*XGB, "tune.scoring=kfold", *FAST], tmp_path / "run")
    assert "cv, holdout" in str(caught.value.fix)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_process_age_counts_from_the_process_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    from mlconf.core import process_age as age_module
    from mlconf.core.process_age import mark_run_end, process_age

    monkeypatch.setattr(age_module, "_last_run_end", None)  # no run ended in this process

    script = "import time; time.sleep(0.6); from mlconf.core.process_age import process_age; "
    script += "print(process_age())"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert 0.6 <= float(out.stdout) < 30, out  # its own start, not its parent's
    here = process_age()
    assert here is not None and here > float(out.stdout)  # this test process began earlier
    mark_run_end()  # a second command in one process (a sweep's next job) counts from here
    after = process_age()
    assert after is not None and after < 0.5 < here


def test_a_whole_command_budget_leaves_what_start_up_did_not_spend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlconf.core import process_age as age_module

    monkeypatch.setattr(age_module, "process_age", lambda: 7.5)
    overrides = [*XGB, "tune.n_trials=1", "tune.timeout=600", "tune.timeout_from=process", *FAST]
    result = run_train(overrides, tmp_path / "run")
    counts = json.loads((result.run_dir / "run.json").read_text())["counts"]
    assert counts["tuning_spent_before_s"] == 7.5
    assert counts["tuning_budget"]["timeout_s"] == 592.5


@pytest.mark.parametrize(
    ("value", "age", "message"),
    [("start", 1.0, "unknown tune.timeout_from 'start'"), ("process", None, "/proc")],
)
def test_a_whole_command_budget_that_cannot_be_kept_is_refused_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, age: float | None, message: str
) -> None:
    from mlconf.core import process_age as age_module

    monkeypatch.setattr(age_module, "process_age", lambda: age)
    overrides = [*XGB, "tune.timeout=60", f"tune.timeout_from={value}", *FAST]
    with pytest.raises(MlconfError, match=message) as caught:
        run_train(overrides, tmp_path / "run")
    assert caught.value.where == "config key tune.timeout_from"
    assert not (tmp_path / "run" / "run.json").exists()


def test_messages_name_the_part_of_a_whole_command_budget_that_tuning_had() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from mlconf.ml.tuning.deadline import budget_name, first_trial_warning

    assert budget_name(60, "tune", 60) == "tune.timeout=60 s"
    assert budget_name(None, "tune", None) == "no tune.timeout"
    name = budget_name(60, "process", 52.5)
    assert name == "the 52.5 s left of tune.timeout=60 s"
    deadline = Deadline(52.5, lambda: 0.0, name=name)
    first = SimpleNamespace(duration=timedelta(seconds=70))
    (warning,) = first_trial_warning([first], deadline, lambda _: True)
    assert warning.startswith(f"{name} is shorter than one trial (the first took 70 s)")
    assert Deadline(30.0, lambda: 0.0).name == "tune.timeout=30 s"
