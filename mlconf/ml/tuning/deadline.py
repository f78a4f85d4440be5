"""`tune.timeout` as a hard budget: no trial starts after it, and a running trial stops.

Optuna's own timeout only stops *starting* trials, so a trial begun just before the end ran
all its folds and the stage overran by up to a whole trial (8-12% of a 60 s budget in
benchmarks/vs_flaml.py). Here the tune stage asks the deadline after each trial (no next
trial once it is spent), after each fold, and, for xgboost, after each boosting round: a
trial caught by it ends as PRUNED with the user attribute `timeout`, so it never counts as
a result. The only exception is the study's first trial: until one trial has completed
there is nothing to train, so that one runs to its end (and the stage warns).

The budget covers the final fit, evaluation and save too: `reserve` (seconds, set after
each complete trial from the best trial's estimated refit and `tail`, the stages after it,
mlconf.ml.tuning.fidelity) is kept free, so the deadline falls `reserve` seconds before
`tune.timeout`. An estimate made early cannot see a load that rises later, so the final fit
of a boosting model also watches the clock (`final_fit_within`): it stops adding trees once
only `tail` is left, and the run says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import optuna

TIMED_OUT = "timeout"
TIMEOUT_FROM = ("tune", "process")  # tune.timeout counts from the tune stage, or the process


def now() -> float:
    """The deadline's clock (a function of its own, so tests can replace it)."""
    return time.monotonic()


class Deadline:
    """`seconds` from now on `clock` (None: no deadline; the default clock is `now`);
    `name` is how messages call it (budget_name)."""

    def __init__(
        self,
        seconds: float | None,
        clock: Callable[[], float] | None = None,
        name: str | None = None,
    ) -> None:
        self.seconds = seconds
        self.name = name or budget_name(seconds, "tune", seconds)
        self._clock = clock or now
        self._start = self._clock()
        self._has_result = False
        self.reserve = 0.0  # seconds kept free for the final fit and the tail
        self.tail = 0.0  # of those, seconds kept for what follows the final fit
        self.stopped_at: float | None = None  # seconds after the start, when it first said so

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    @property
    def spent(self) -> bool:
        if self.seconds is None:
            return False
        elapsed = self.elapsed
        if elapsed + self.reserve < self.seconds:
            return False
        if self.stopped_at is None:
            self.stopped_at = elapsed
        return True

    def stop_study(self, study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        """Optuna callback after every trial: ask for no further trial once the time is spent."""
        if self.spent:
            study.stop()

    def check(self, trial: optuna.Trial) -> None:
        """Stop `trial` (raise TrialPruned, marked `timeout`) once the time is spent, unless
        no trial of the study has completed yet. Cheap until the deadline: one clock read."""
        import optuna

        if not self.spent or not self._study_has_result(trial.study):
            return
        trial.set_user_attr(TIMED_OUT, True)
        raise optuna.TrialPruned(f"stopped: {self.name} is spent")

    def _study_has_result(self, study: optuna.Study) -> bool:
        from optuna.trial import TrialState

        if not self._has_result:  # a database query, so asked only after the deadline
            complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            self._has_result = bool(complete)
        return self._has_result


def timed_out(trial: Any) -> bool:
    """Whether the deadline stopped this (frozen) trial."""
    return bool(trial.user_attrs.get(TIMED_OUT))


def tuning_seconds(timeout: float | None, timeout_from: str) -> float | None:
    """The seconds `tune.timeout` leaves from now: all of it, or (`process`) what is left
    after what the command has run so far (start-up, loading, preparing the data)."""
    if timeout_from not in TIMEOUT_FROM:
        raise MlconfError(
            f"unknown tune.timeout_from {timeout_from!r}",
            where="config key tune.timeout_from",
            fix=f"use one of: {', '.join(TIMEOUT_FROM)}",
        )
    if timeout is None or timeout_from == "tune":
        return timeout
    from mlconf.core.process_age import process_age

    age = process_age()
    if age is None:
        raise MlconfError(
            "tune.timeout_from=process needs the process's start time, which this system "
            "does not give (it is read from Linux's /proc)",
            where="config key tune.timeout_from",
            fix="use tune.timeout_from=tune and set tune.timeout to your budget less the "
            "seconds before tuning (the run's stage times in run.json)",
        )
    return max(0.0, timeout - age)


def tuning_deadline(ctx: Any, timeout: float | None, timeout_from: str) -> Deadline:
    """The deadline from the start of tuning. Under `tune.timeout_from=process` the run says
    (console) and records (run.json count `tuning_spent_before_s`) what start-up, loading and
    preparing spent, and warns when nothing was left."""
    seconds = tuning_seconds(timeout, timeout_from)
    deadline = Deadline(seconds, name=budget_name(timeout, timeout_from, seconds))
    if seconds is None or timeout is None or timeout_from != "process":
        return deadline
    spent = round(timeout - seconds, 3)
    ctx.count("tuning_spent_before_s", spent)
    ctx.console.print(
        f"  tune.timeout={timeout:g} s counts from the process's start: "
        f"{spent:.1f} s spent before tuning, {seconds:.1f} s left"
    )
    if seconds == 0:
        ctx.warn(
            f"tune.timeout={timeout:g} s was spent before tuning began "
            "(tune.timeout_from=process): only the default configuration is trained; "
            "raise tune.timeout"
        )
    return deadline


def budget_name(timeout: float | None, timeout_from: str, seconds: float | None) -> str:
    """The budget as messages name it: `tune.timeout=60 s`, or under
    `tune.timeout_from=process` the part of it left when tuning began."""
    if seconds is None or timeout is None:
        return "no tune.timeout"
    if timeout_from == "process":
        return f"the {seconds:.1f} s left of tune.timeout={timeout:g} s"
    return f"tune.timeout={seconds:g} s"


def first_trial_warning(
    trials: Sequence[Any], deadline: Deadline, is_default: Callable[[Any], bool]
) -> Iterator[str]:
    """The study's first trial runs to its end: say so when it alone outlasted the budget."""
    if deadline.seconds is None or not trials or trials[0].duration is None:
        return
    first = trials[0].duration.total_seconds()
    if first > deadline.seconds:
        what = (
            "the default configuration (model.params) is trained"
            if is_default(trials[0]) and len(trials) == 1
            else f"only {len(trials)} trial(s) ran"
        )
        yield (
            f"{deadline.name} is shorter than one trial (the first took "
            f"{first:.0f} s), so {what}; raise tune.timeout to a few times the trial time, "
            "lower tune.folds, or score trials on a holdout (tune.scoring=holdout)"
        )


@dataclass
class FinalFit:
    """Where the final fit stopped: the round the deadline cut it at, or None (all trees)."""

    cut_at: int | None = None
    trees: int | None = None
    # the budget was spent before the fit began: it trains all its trees, not one
    late: bool = False


def final_fit_over(deadline: Deadline | None) -> bool:
    """Whether the final fit, started now, must stop adding trees (only `tail` left)."""
    return (
        deadline is not None
        and deadline.seconds is not None
        and deadline.elapsed + deadline.tail >= deadline.seconds
    )


@contextmanager
def final_fit_within(deadline: Deadline | None, estimator: Any) -> Iterator[FinalFit]:
    """Fit `estimator` (an xgboost model) inside this block, and it stops adding trees once
    `deadline` has only its `tail` left; other models, or no deadline, fit as they are.
    The callback is removed afterwards (it is not part of the saved model). A fit that
    starts with only the tail left is not cut (a model of a tree or two would be saved),
    nor one on a Dask cluster (its rounds run on the workers' clocks)."""
    outcome = FinalFit(late=final_fit_over(deadline))
    if (
        deadline is None
        or deadline.seconds is None
        or outcome.late
        or not hasattr(estimator, "get_booster")
        or hasattr(estimator, "as_plain_estimator")
        or getattr(estimator, "callbacks", None)
    ):
        yield outcome
        return
    import xgboost as xgb

    class StopAtTail(xgb.callback.TrainingCallback):
        watches_eval_set = False  # it reads the clock, not the held-out scores

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            if final_fit_over(deadline):
                outcome.cut_at = epoch + 1
                return True
            return False

    estimator.set_params(callbacks=[StopAtTail()])
    try:
        yield outcome
    finally:
        estimator.set_params(callbacks=None)
    outcome.trees = getattr(estimator, "n_estimators", None)
