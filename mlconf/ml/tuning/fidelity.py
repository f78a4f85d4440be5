"""How much each trial costs: k-fold CV or one holdout, and the final fit's time reserved.

A budget (`tune.timeout`) runs from the start of tuning to a fitted final model:

- **Holdout on big tables.** A 3-fold CV fits three models on two thirds of the rows each;
  on 100k+ rows the default trial alone can eat a minute. `tune.scoring=holdout` scores
  every trial on the *first fold of the same k-fold split* only (fit on (k-1)/k of the
  rows, scored on the other 1/k): a third of the CV's cost at `tune.folds=3`.
  `tune.scoring=auto` (the default) picks holdout when the training part has at least
  `tune.holdout_rows` rows, or when the default trial's first fold alone took more than
  `tune.holdout_share` of `tune.timeout`: then the default stops after that fold and its
  score is that fold's, so every trial, the default included, is scored on the same rows
  and the default-first guarantee holds. The choice is stored in the study (user
  attribute `scoring`), so a resumed study keeps it.
- **The refit is reserved.** From each complete trial's folds: fit seconds, fit rows and
  trees trained, the final fit's seconds are estimated as the median fold's fit seconds
  x (training rows / fold rows) x (refit trees / trees the fold trained). The deadline
  keeps the best trial's estimate free (`tune.reserve_refit`), so the study stops early
  enough for the final fit to end within `tune.timeout`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlconf.core.errors import MlconfError

SCORINGS = ("auto", "cv", "holdout")
SCORING = "scoring"  # study user attribute: "cv" or "holdout", once decided
FIT_SECONDS = "fit_s"  # trial user attribute: each fold's fit seconds
ROUNDS = "rounds"  # trial user attribute: the trees each fold trained (early stopping)
REFIT = "refit_s"  # trial user attribute: the estimated seconds of its final fit


def check_scoring(scoring: str, rows: int, share: float) -> None:
    """Refuse an unknown `tune.scoring`, or holdout limits that cannot mean anything."""
    if scoring not in SCORINGS:
        raise MlconfError(
            f"unknown tune.scoring {scoring!r}",
            where="config key tune.scoring",
            fix=f"use one of: {', '.join(SCORINGS)}",
        )
    if rows < 0 or not 0 < share <= 1:
        raise MlconfError(
            f"tune.holdout_rows must be 0 or more (got {rows}) and tune.holdout_share in "
            f"(0, 1] (got {share})",
            where="config key tune.holdout_rows / tune.holdout_share",
            fix="e.g. tune.holdout_rows=50000 tune.holdout_share=0.25",
        )


def initial_scoring(scoring: str, stored: Any, rows: int, holdout_rows: int) -> str:
    """`cv`, `holdout`, or `auto` (still undecided: the default's first fold decides).

    A stored study keeps what it was scored with; otherwise a table of `holdout_rows` rows
    or more gets a holdout under `auto` (0 turns the rows rule off)."""
    if stored in ("cv", "holdout"):
        return str(stored)
    if scoring != "auto":
        return scoring
    return "holdout" if holdout_rows and rows >= holdout_rows else "auto"


def fold_too_slow(seconds: float, timeout: float | None, share: float) -> bool:
    """Whether one fold taking `seconds` makes the k-fold CV too dear for the budget."""
    return timeout is not None and seconds > share * timeout


def fold_rounds(estimator: Any) -> int | None:
    """The boosting rounds a fitted fold model trained (early stopping's extra rounds
    included: they cost time), or None for models without rounds."""
    if hasattr(estimator, "get_booster"):
        try:
            return int(estimator.get_booster().num_boosted_rounds())
        except (AttributeError, ValueError):
            return None
    count = getattr(estimator, "n_iter_", None)  # hist_gb; an array for linear models
    if count is not None and getattr(count, "ndim", 0) == 0:
        return int(count)
    return None


@dataclass(frozen=True)
class Refit:
    """What the final fit of one trial's configuration is estimated to cost."""

    seconds: float
    rows_ratio: float
    trees_ratio: float


def estimate_refit(
    fit_seconds: Sequence[float],
    fold_rows: int,
    train_rows: int,
    rounds: Sequence[int | None] = (),
    refit_trees: int | None = None,
) -> Refit:
    """The final fit's seconds from the folds' fit seconds, scaled by rows and trees."""
    if not fit_seconds:
        return Refit(0.0, 1.0, 1.0)
    per_fold = statistics.median(fit_seconds)
    rows_ratio = train_rows / max(1, fold_rows)
    trained = [r for r in rounds if r]
    trees_ratio = 1.0
    if refit_trees and trained and len(trained) == len(rounds):
        trees_ratio = refit_trees / statistics.median(trained)
    return Refit(per_fold * rows_ratio * trees_ratio, rows_ratio, trees_ratio)


def refit_trees(params: dict[str, Any]) -> int | None:
    """The fixed tree count a final fit's params train (after `trees.refit_params`)."""
    for key in ("n_estimators", "max_iter"):
        value = params.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class Fidelity:
    """The study's scoring (`cv` or `holdout`), decided once, and each trial's cost records.

    `auto` is decided by the first fold any trial finishes (the default's, when it runs
    first): too slow for `holdout_share` of the budget, and the study is scored on that fold
    alone from then on, that trial included.
    """

    def __init__(self, study: Any, tune: Any, rows: int) -> None:
        check_scoring(tune.scoring, tune.holdout_rows, tune.holdout_share)
        self.study = study
        self.folds = int(tune.folds)
        self.timeout = tune.timeout
        self.share = float(tune.holdout_share)
        self.rows = rows
        # the rows each fold fits on (k-fold: all but one fold's share)
        self.fold_rows = rows - rows // self.folds
        stored = study.user_attrs.get(SCORING)
        if stored is None and any(t.state.name == "COMPLETE" for t in study.trials):
            stored = "cv"  # a study tuned before tune.scoring existed was scored by CV
        self.mode = initial_scoring(tune.scoring, stored, rows, tune.holdout_rows)
        if self.mode != "auto" and stored != self.mode:
            study.set_user_attr(SCORING, self.mode)

    @property
    def holdout(self) -> bool:
        return self.mode == "holdout"

    def enough(self, trial: Any, fold: int, fit_seconds: Sequence[float]) -> bool:
        """After fold `fold`: record its fit seconds; whether no further fold is scored."""
        trial.set_user_attr(FIT_SECONDS, [round(s, 3) for s in fit_seconds])
        if self.mode == "auto" and fold == 0:
            slow = fold_too_slow(fit_seconds[0], self.timeout, self.share)
            self.mode = "holdout" if slow else "cv"
            self.study.set_user_attr(SCORING, self.mode)
        return self.holdout or fold + 1 >= self.folds

    def finish(self, trial: Any, rounds: Sequence[int | None], params: dict[str, Any]) -> None:
        """Record the trees each fold trained and the estimated seconds of its final fit."""
        if rounds and all(r is not None for r in rounds):
            trial.set_user_attr(ROUNDS, list(rounds))
        seconds = trial.user_attrs.get(FIT_SECONDS) or []
        refit = estimate_refit(seconds, self.fold_rows, self.rows, rounds, refit_trees(params))
        trial.set_user_attr(REFIT, round(refit.seconds, 3))

    def describe(self) -> str:
        """For the console and run record: what each trial is scored on."""
        if self.holdout:
            held = self.rows // self.folds
            fit = self.rows - held
            return f"holdout (fold 1 of {self.folds}: {fit:,} rows fit, {held:,} scored)"
        return f"{self.folds}-fold CV"


def reserve_for_best(deadline: Any, enabled: bool) -> Any:
    """An Optuna callback: after each trial the deadline keeps the best trial's estimated
    refit free (`tune.reserve_refit`)."""

    def callback(study: Any, _trial: Any) -> None:
        if not enabled:
            return
        try:
            best = study.best_trial
        except ValueError:  # no complete trial yet
            return
        deadline.reserve = float(best.user_attrs.get(REFIT) or 0.0)

    return callback


def say_budget(ctx: Any, deadline: Any, fidelity: Fidelity) -> None:
    """Tell (console) and record (run.json counts `tuning_budget`) what the trials were
    scored on, what was kept free for the final fit, and when the study stopped."""
    record: dict[str, Any] = {
        "scoring": fidelity.mode if fidelity.mode != "auto" else "cv",
        "timeout_s": deadline.seconds,
        "reserve_s": round(deadline.reserve, 3),
        "stopped_s": None if deadline.stopped_at is None else round(deadline.stopped_at, 3),
        "tuned_s": round(deadline.elapsed, 3),
    }
    ctx.count("tuning_budget", record)
    line = f"  trials scored by {fidelity.describe()}"
    if deadline.seconds is not None:
        line += (
            f"; {deadline.reserve:.1f} s of tune.timeout={deadline.seconds:g} s kept for the "
            f"final fit (estimated from the best trial's folds); tuning took "
            f"{deadline.elapsed:.1f} s"
        )
    ctx.console.print(line)
