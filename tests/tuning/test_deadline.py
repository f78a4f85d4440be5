"""`tune.timeout` is a hard budget: no trial starts after it and a running trial is stopped.

Time comes from a fake clock, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import xgboost as xgb
from helpers import run_train
from optuna.trial import TrialState

from mlconf.ml.tuning import deadline as deadline_module
from mlconf.ml.tuning.deadline import Deadline, timed_out
from mlconf.ml.tuning.rounds import deadline_callback


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def quiet_study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))


def test_no_trial_starts_once_the_budget_is_spent() -> None:
    clock = Clock()
    deadline = Deadline(10.0, clock)
    study = quiet_study()
    started = []

    def objective(trial: optuna.Trial) -> float:
        started.append(trial.number)
        clock.t += 4.0  # each trial takes 4 s: 0-4, 4-8, 8-12, then the budget is spent
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=100, callbacks=[deadline.stop_study])
    assert started == [0, 1, 2]


def test_a_running_trial_is_stopped_once_a_result_exists() -> None:
    clock = Clock()
    deadline = Deadline(10.0, clock)
    study = quiet_study()
    steps: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        for step in range(5):  # e.g. folds: the deadline is asked after each
            steps.append(step)
            clock.t += 3.0
            deadline.check(trial)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    # The first trial runs to its end past the deadline: without it there is no result.
    assert first.state == TrialState.COMPLETE and not timed_out(first)
    # The second is stopped at its first step, marked as stopped by the deadline.
    assert second.state == TrialState.PRUNED and timed_out(second)
    assert steps == [0, 1, 2, 3, 4, 0]


def test_no_deadline_never_stops() -> None:
    clock = Clock()
    deadline = Deadline(None, clock)
    clock.t = 1e12
    assert not deadline.spent


def test_xgboost_is_stopped_within_a_round() -> None:
    clock = Clock()
    deadline = Deadline(5.0, clock)
    study = quiet_study()
    study.optimize(lambda trial: 0.0, n_trials=1)  # a result exists
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    rounds: list[int] = []

    class Count(xgb.callback.TrainingCallback):
        def after_iteration(self, model: object, epoch: int, evals_log: object) -> bool:
            rounds.append(epoch)
            if epoch == 9:
                clock.t = 6.0  # the budget runs out during round 10
            return False

    def objective(trial: optuna.Trial) -> float:
        model = xgb.XGBClassifier(
            n_estimators=1000, n_jobs=1, callbacks=[Count(), deadline_callback(trial, deadline)]
        )
        model.fit(x, y)
        return 1.0

    study.optimize(objective, n_trials=1)
    assert study.trials[-1].state == TrialState.PRUNED and timed_out(study.trials[-1])
    assert len(rounds) == 10


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_tune_stage_keeps_to_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the runner, unbounded in trials: only the deadline can end the study.

    Each read of the clock is one second, so a trial (2 folds of up to 100 rounds, the
    clock read each round) takes about 100 or 200 s, and the budget of 250 s ends inside
    the second or third trial, which is stopped.
    """
    ticks = itertools.count()
    monkeypatch.setattr(deadline_module, "now", lambda: float(next(ticks)))
    overrides = [
        "search=xgboost",
        "search.space.n_estimators.value=100",
        "model.params.n_estimators=100",  # the default trial (trial 0): 2 folds x 100 rounds
        "tune.n_trials=0",
        "tune.timeout=250",
        "tune.pruner=none",
        "metrics.bootstrap=0",
        "tune.folds=2",
        "++model.params.n_jobs=1",
    ]
    result = run_train(overrides, tmp_path / "run")
    trials = pd.read_csv(result.run_dir / "trials.csv")
    *before, last = trials.to_dict("records")
    assert before and all(t["state"] == "COMPLETE" for t in before)
    assert last["state"] == "PRUNED" and str(last["user_attr_timeout"]) == "True"
    best = json.loads((result.run_dir / "best_params.json").read_text())["trial"]
    assert best in [t["number"] for t in before]
