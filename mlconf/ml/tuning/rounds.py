"""Pruning on xgboost's own evaluation rounds, not only after whole folds.

A hopeless xgboost trial shows it after a few dozen boosting rounds on the held-out fold;
waiting for the fold to end wastes the rest. xgboost can score the held-out rows every
round at little cost (it keeps their predictions), so the tune stage reports that score
to the pruner while the fold trains. Only a metric xgboost computes the same way as
mlconf's primary metric is used, so the value goes the study's direction.

Trials are compared at equal *progress*, not equal rounds: boosting moves about
`learning_rate` per round, so a trial at a learning rate of 0.02 is, after 10 rounds,
where one at 0.3 is after less than one. Judged round for round, every slow learner lost
to the fast ones long before it had learnt anything (on a 35,000-row table, 55 of 59
searched trials were stopped after 10-20 rounds, each below every finished trial, and the
best was always a portfolio entry). So a trial reports at step `rounds x pace`, its pace
being its learning rate over the highest one the space allows (1 for the fastest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

XGBOOST_RATE = 0.3  # xgboost's learning rate when none is given

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


@dataclass(frozen=True)
class RoundPruning:
    """How a study's xgboost trials report their rounds: the metric, the steps per fold
    (round_stride) and the highest learning rate a trial may have (pace 1)."""

    metric: RoundMetric
    stride: int
    top_rate: float = XGBOOST_RATE

    def pace(self, learning_rate: Any) -> float:
        """Progress per round of a trial at `learning_rate`: at most 1, so a fold's steps
        stay within its stride (1 for a rate that is not a positive number)."""
        rate = _rate(learning_rate)
        return min(1.0, rate / self.top_rate) if rate > 0 and self.top_rate > 0 else 1.0


def learning_rate_of(model: Any) -> Any:
    """An xgboost model's learning rate, under its name or its alias `eta` (None: unset)."""
    params = model.get_params()
    rate = params.get("learning_rate")
    return params.get("eta") if rate is None else rate


def _rate(value: Any) -> float:
    """A learning rate as a number: xgboost's own for None, 0 for what is not a number."""
    if value is None:
        return XGBOOST_RATE
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def round_stride(space_high: int | None, fixed: int | None) -> int:
    """Steps per fold: progress of fold k is reported at k * stride + progress.

    The pruner compares trials at equal steps, so every trial must put the same fold at
    the same offset: the largest number of rounds any trial may run (a fold's steps are
    `rounds x pace`, never more than its rounds).
    """
    return max(space_high or 0, fixed or 0, 100)


def pruning_callback(
    trial: Any, fold: int, metric: RoundMetric, stride: int, every: int, pace: float = 1.0
) -> Any:
    """An xgboost callback that reports every `every` steps of progress (`rounds x pace`,
    so every trial reports on the same grid of steps) and stops a pruned trial."""
    import optuna
    import xgboost as xgb

    class ReportRounds(xgb.callback.TrainingCallback):
        def __init__(self) -> None:
            super().__init__()
            self.reported = 0  # the last progress step reported

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            rounds = epoch + 1
            progress = int(rounds * pace + 1e-9)
            mark = progress - progress % every
            if mark <= self.reported or not evals_log:
                return False
            history = next(iter(evals_log.values())).get(metric.eval_metric)
            if not history:
                return False
            self.reported = mark
            trial.report(metric.to_primary(float(history[-1])), step=fold * stride + mark)
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
    by_rounds: RoundPruning | None,
    every: int,
    deadline: Any,
    clock: Any = None,
    model: Any = None,
) -> list[Any]:
    """The xgboost callbacks of one fold's `model`: rounds reported to the pruner (when
    `by_rounds` says how, at the model's pace), the deadline checked every round, and
    `clock` (round_clock) timing the loop."""
    callbacks = [] if clock is None else [clock]
    if by_rounds is not None:
        pace = 1.0 if model is None else by_rounds.pace(learning_rate_of(model))
        callbacks.append(
            pruning_callback(trial, fold, by_rounds.metric, by_rounds.stride, every, pace)
        )
    if deadline.seconds is not None:
        callbacks.append(deadline_callback(trial, deadline))
    return callbacks


def round_pruning(ctx: Any, model_name: str, plan: Any) -> RoundPruning | None:
    """How a trial of `model_name` is pruned between rounds, when it can be: xgboost, a
    pruner, a round metric matching the primary one, and no callbacks or eval_metric of the
    user's own in model.params."""
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
    return RoundPruning(metric, round_stride(high, cap), _top_rate(plan.space, base))


def _top_rate(space: Any, base: dict[str, Any]) -> float:
    """The highest learning rate a trial may take: the space's upper bound, else the one
    every trial shares (model.params, or xgboost's own)."""
    param = space.params.get("learning_rate") or space.params.get("eta")
    if param is None:
        rate = _rate(base.get("learning_rate", base.get("eta")))
        return rate if rate > 0 else XGBOOST_RATE
    values = param.choices if param.type in ("fixed", "categorical") else (param.high,)
    numbers = [float(v) for v in values if isinstance(v, int | float) and v > 0]
    return max(numbers) if numbers else XGBOOST_RATE
