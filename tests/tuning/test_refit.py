"""The final fit and what follows it fit inside `tune.timeout` (issue 18).

Seconds are given or come from a fake clock: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from mlconf.ml import crossval as crossval_module
from mlconf.ml.tuning import fidelity
from mlconf.ml.tuning.deadline import Deadline, final_fit_over, final_fit_within
from mlconf.ml.tuning.fidelity import Boosting, estimate_refit, estimate_tail
from mlconf.ml.tuning.rounds import round_clock


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def data(rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    return x, (x[:, 0] + rng.normal(size=rows) > 0).astype(int)


def test_the_refit_leaves_out_the_per_round_scoring() -> None:
    """Two folds of 10 s: 2 s set-up, 8 s of 100 rounds of which 4 s scoring the watched
    rows. The refit on 1.5x the rows with 50 trees: 1.5 x (2 + 50 x 0.04) = 6 s, where
    scaling the fold's seconds would say 1.5 x 10 x 0.5 = 7.5 s."""
    folds = [10.0, 10.0]
    timed = [Boosting(100, 8.0, 4.0), Boosting(100, 8.0, 4.0)]
    refit = estimate_refit(folds, 200, 300, [100, 100], 50, timed)
    assert refit.seconds == pytest.approx(6.0)
    assert (refit.rows_ratio, refit.trees_ratio) == (1.5, 0.5)
    # a fold not timed (not boosting): the fold's seconds, scaled
    untimed = estimate_refit(folds, 200, 300, [100, 100], 50, [timed[0], None])
    assert untimed.seconds == pytest.approx(7.5)


def test_the_tail_scales_with_the_rows_predicted_later() -> None:
    # folds predicted 1,000 rows in 0.1 s; the test part has 30,000 rows
    tail = estimate_tail([0.1, 0.1], held_rows=1_000, later_rows=30_000)
    rows = fidelity.TAIL_FIXED_S + fidelity.TAIL_ROW_S * 30_000
    assert tail == pytest.approx(rows + fidelity.TAIL_PREDICTS * 3.0)
    assert estimate_tail([], 1_000, 30_000) == pytest.approx(rows)
    # the study keeps the refit (with its margin), the tail and its own files free
    reserve = fidelity.reserve_seconds(4.0, 2.0)
    assert reserve == pytest.approx(fidelity.STUDY_FILES_S + fidelity.REFIT_MARGIN * 4.0 + 2.0)


def test_the_reserve_follows_the_best_trial() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    deadline = Deadline(100.0, Clock())
    keep = fidelity.reserve_for_best(deadline, enabled=True)
    for value, refit, tail in [(0.5, 10.0, 3.0), (0.7, 2.0, 1.0), (0.6, 30.0, 9.0)]:
        trial = study.ask()
        trial.set_user_attr(fidelity.REFIT, refit)
        trial.set_user_attr(fidelity.TAIL, tail)
        study.tell(trial, value)
        keep(study, study.trials[-1])
    # the best (0.7) trial's estimates, not the last trial's
    assert deadline.reserve == pytest.approx(fidelity.reserve_seconds(2.0, 1.0, 100.0))
    assert deadline.tail == 1.0
    # a share of the budget kept for what no estimate sees (the last trial, a rising load)
    assert deadline.reserve == pytest.approx(fidelity.reserve_seconds(2.0, 1.0) + 1.0)


def test_the_round_clock_times_the_loop_and_its_scoring() -> None:
    x, y = data()
    clock = round_clock()
    model = xgb.XGBClassifier(n_estimators=20, n_jobs=1, callbacks=[clock])
    model.fit(x, y, eval_set=[(x[:50], y[:50])], verbose=False)
    timed = clock.boosting()
    assert timed is not None and timed.rounds == 20
    assert 0.0 <= timed.eval_seconds <= timed.loop_seconds
    assert len(model.evals_result()["validation_0"]["logloss"]) == 20  # still scored
    assert "eval_set" not in model.get_booster().__dict__  # the saved booster is plain


def test_the_final_fit_stops_adding_trees_when_only_the_tail_is_left() -> None:
    """10 s budget, 3 s tail: the fit may run until 7 s. The clock passes 7 s in round 5."""
    x, y = data()
    clock = Clock()
    deadline = Deadline(10.0, clock)
    deadline.tail = 3.0

    class Tick(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            clock.t = 5.0 + 0.5 * epoch  # 7.0 s after round 5 (epoch 4)
            return False

    model = xgb.XGBClassifier(n_estimators=50, n_jobs=1)
    with final_fit_within(deadline, model) as final:
        model.set_params(callbacks=[Tick(), *model.get_params()["callbacks"]])
        model.fit(x, y)
    assert final.cut_at == 5 and model.get_booster().num_boosted_rounds() == 5
    assert model.get_params()["callbacks"] is None  # not saved with the model
    assert final_fit_over(deadline) and not final_fit_over(None)


def test_the_final_fit_runs_in_full_with_time_left_or_no_deadline() -> None:
    x, y = data()
    for deadline in (Deadline(10.0, Clock()), Deadline(None, Clock()), None):
        model = xgb.XGBClassifier(n_estimators=12, n_jobs=1)
        with final_fit_within(deadline, model) as final:
            model.fit(x, y)
        assert final.cut_at is None and model.get_booster().num_boosted_rounds() == 12


def test_a_final_fit_that_starts_past_the_deadline_is_not_cut_to_a_tree() -> None:
    """The first trial may overrun the budget: the final fit then trains all its trees
    (and says it was late) rather than saving a model of one tree."""
    x, y = data()
    clock = Clock()
    deadline = Deadline(10.0, clock)
    deadline.tail = 3.0
    clock.t = 9.0  # only the tail was left before the fit began
    model = xgb.XGBClassifier(n_estimators=12, n_jobs=1)
    with final_fit_within(deadline, model) as final:
        model.fit(x, y)
    assert final.late and final.cut_at is None
    assert model.get_booster().num_boosted_rounds() == 12


def test_a_fold_watches_a_sample_of_its_held_out_rows_and_is_scored_on_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlconf.config import TrainConfig

    conf = TrainConfig()
    conf.problem.task = "classification"
    x, y = data(300)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    watched: list[int] = []
    real_fit = crossval_module.fit

    def spy(pipeline: Any, fx: Any, fy: Any, name: str, eval_data: Any, weights: str) -> Any:
        watched.append(len(eval_data[0]))
        return real_fit(pipeline, fx, fy, name, eval_data, weights)

    monkeypatch.setattr(crossval_module, "fit", spy)
    model = xgb.XGBClassifier(n_estimators=200, early_stopping_rounds=5, n_jobs=1)
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipeline = Pipeline([("features", FunctionTransformer()), ("model", model)])
    scores = crossval_module.cross_validate(
        conf, 2, pipeline, frame, y, 3, label="x", metrics=["roc_auc"], watch_rows=40
    )
    assert watched == [40, 40, 40]
    assert len(scores["roc_auc"]["folds"]) == 3 and len(scores["predict_seconds"]["folds"]) == 3
    watched.clear()
    crossval_module.cross_validate(conf, 2, pipeline, frame, y, 3, label="x", metrics=["roc_auc"])
    assert watched == [100, 100, 100]  # 0: all of them


def test_successive_halving_over_rows_promotes_the_better_half() -> None:
    from mlconf.ml.tuning.rungs import promoted, rung_rows

    assert rung_rows(80_000, 20_000) == 20_000
    assert rung_rows(79_999, 20_000) == 0 and rung_rows(10**6, 0) == 0  # too few rows, off
    assert promoted(0.1, [0.9], higher=True)  # too few peers: always on to all rows
    assert promoted(0.7, [0.6, 0.8], higher=True) and not promoted(0.69, [0.6, 0.8], True)
    assert promoted(0.69, [0.6, 0.8], higher=False)  # an error: lower is better


def test_a_trial_below_the_median_on_the_sample_stops_there() -> None:
    import optuna

    from mlconf.ml.tuning.rungs import RUNG, climb

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    fitted: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        value = trial.suggest_float("v", 0, 1)
        climb(trial, 500, lambda rows: value)  # the sample's score: v itself
        fitted.append(trial.number)  # a promoted trial goes on to all rows
        return value

    for v in [0.5, 0.7, 0.4, 0.9]:
        study.enqueue_trial({"v": v})
    study.optimize(objective, n_trials=4)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]  # 0.4 < median(0.5, 0.7)
    assert fitted == [0, 1, 3] and study.trials[2].user_attrs[RUNG] == {"rows": 500, "value": 0.4}
