"""Pruning on xgboost's own evaluation rounds, not only after whole folds.

A hopeless xgboost trial shows it after a few dozen boosting rounds on the held-out fold;
waiting for the fold to end wastes the rest. xgboost can score the held-out rows every
round at little cost (it keeps their predictions), so the tune stage reports that score
to the pruner while the fold trains. Only a metric xgboost computes the same way as
mlconf's primary metric is used, so the value goes the study's direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# mlconf metric -> (xgboost eval_metric for binary, multiclass, regression; how to turn
# xgboost's value into mlconf's). None: no xgboost equivalent for that kind of problem.
_MATCHES: dict[str, tuple[str | None, str | None, str | None, Callable[[float], float]]] = {
    "roc_auc": ("auc", None, None, float),
    "pr_auc": ("aucpr", None, None, float),
    "log_loss": ("logloss", "mlogloss", None, float),
    "accuracy": ("error", "merror", None, lambda error: 1.0 - error),
    "rmse": (None, None, "rmse", float),
    "mae": (None, None, "mae", float),
}


@dataclass(frozen=True)
class RoundMetric:
    """The xgboost metric that stands for the primary metric during training."""

    eval_metric: str
    to_primary: Callable[[float], float]


def round_metric(primary: str, task: str, n_classes: int) -> RoundMetric | None:
    """xgboost's equivalent of `primary` for this problem, or None if it has none."""
    match = _MATCHES.get(primary)
    if match is None:
        return None
    binary, multiclass, regression, convert = match
    by_kind = {"regression": regression, "binary": binary, "multiclass": multiclass}
    kind = "regression" if task == "regression" else "binary" if n_classes <= 2 else "multiclass"
    name = by_kind[kind]
    return None if name is None else RoundMetric(name, convert)


def round_stride(space_high: int | None, fixed: int | None) -> int:
    """Steps per fold: rounds of fold k are reported at k * stride + round.

    The pruner compares trials at equal steps, so every trial must put the same fold at
    the same offset: the largest number of rounds any trial may run.
    """
    return max(space_high or 0, fixed or 0, 100)


def pruning_callback(trial: Any, fold: int, metric: RoundMetric, stride: int, every: int) -> Any:
    """An xgboost callback that reports every `every` rounds and stops a pruned trial."""
    import optuna
    import xgboost as xgb

    class ReportRounds(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            rounds = epoch + 1
            if rounds % every or not evals_log:
                return False
            history = next(iter(evals_log.values())).get(metric.eval_metric)
            if not history:
                return False
            trial.report(metric.to_primary(float(history[-1])), step=fold * stride + rounds)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at fold {fold + 1}, round {rounds}")
            return False

    return ReportRounds()


def deadline_callback(trial: Any, deadline: Any) -> Any:
    """An xgboost callback that stops the trial within a round of `tune.timeout` running out
    (mlconf.ml.tuning.deadline.Deadline.check)."""
    import xgboost as xgb

    class StopAtDeadline(xgb.callback.TrainingCallback):
        watches_eval_set = False  # it reads the clock, not the held-out scores

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            deadline.check(trial)
            return False

    return StopAtDeadline()


def round_clock() -> Any:
    """An xgboost callback that times its fold's boosting loop and, within it, the scoring
    of the watched rows after every round (`boosting()`: a fidelity.Boosting, or None
    before training ends). That scoring is xgboost's, done before any callback hears of
    the round, so it is timed by wrapping the booster's own `eval_set` for this fit."""
    import time

    import xgboost as xgb

    from mlconf.ml.tuning.fidelity import Boosting

    class RoundClock(xgb.callback.TrainingCallback):
        watches_eval_set = False  # it reads the clock, not the held-out scores

        def __init__(self) -> None:
            super().__init__()
            self.start = 0.0
            self.scoring = 0.0
            self.result: Boosting | None = None

        def before_training(self, model: Any) -> Any:
            scored = model.eval_set

            def timed(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return scored(*args, **kwargs)
                finally:
                    self.scoring += time.perf_counter() - began

            model.eval_set = timed  # this booster only
            self.start = time.perf_counter()
            return model

        def after_training(self, model: Any) -> Any:
            loop = time.perf_counter() - self.start
            model.__dict__.pop("eval_set", None)  # the booster is saved: no wrapper left
            self.result = Boosting(model.num_boosted_rounds(), loop, self.scoring)
            return model

        def boosting(self) -> Boosting | None:
            return self.result

    return RoundClock()


def fold_callbacks(
    trial: Any,
    fold: int,
    by_rounds: tuple[RoundMetric, int] | None,
    every: int,
    deadline: Any,
    clock: Any = None,
) -> list[Any]:
    """The xgboost callbacks of one fold: rounds reported to the pruner (when `by_rounds`
    gives the metric and the steps per fold), the deadline checked every round, and
    `clock` (round_clock) timing the loop."""
    callbacks = [] if clock is None else [clock]
    if by_rounds is not None:
        metric, stride = by_rounds
        callbacks.append(pruning_callback(trial, fold, metric, stride, every))
    if deadline.seconds is not None:
        callbacks.append(deadline_callback(trial, deadline))
    return callbacks


def round_pruning(ctx: Any, model_name: str, plan: Any) -> tuple[RoundMetric, int] | None:
    """(xgboost metric, steps per fold) when a trial of `model_name` can be pruned between
    rounds: xgboost, a pruner, a round metric matching the primary one, and no callbacks or
    eval_metric of the user's own in model.params."""
    conf = ctx.conf
    if model_name != "xgboost" or conf.tune.pruner == "none" or not conf.tune.prune_every_rounds:
        return None
    base = plan.base[model_name]
    if "callbacks" in base or "eval_metric" in base:
        return None
    metric = round_metric(conf.problem.primary_metric, conf.problem.task, len(ctx.training.classes))
    if metric is None:
        return None
    trees = plan.space.params.get("n_estimators")
    high = int(trees.high) if trees is not None and trees.high is not None else None
    fixed = trees.choices[0] if trees is not None and trees.type == "fixed" else None
    cap = fixed if isinstance(fixed, int) else base.get("n_estimators")
    return metric, round_stride(high, cap)
