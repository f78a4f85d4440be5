"""How much each trial costs: k-fold CV or one holdout, and the final fit's time reserved.

A budget (`tune.timeout`) runs from the start of tuning to the run's end:

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
- **The refit is reserved.** From each complete trial's folds the final fit's seconds are
  estimated. A boosting fold is timed in parts (mlconf.ml.tuning.rounds.round_clock): its
  set-up (feature steps, data matrices), its rounds, and within those the scoring of the
  watched rows after every round, which the final fit does not do (it made fold times
  1.3-3.2x the refit's on flights, benchmarks/README.md). The refit is then
  (training rows / fold rows) x (set-up + refit trees x seconds per round without that
  scoring); for other models the median fold's fit seconds x rows ratio x trees ratio.
- **And what follows it.** Evaluating and saving the model (`tail`) is estimated from the
  rows the later stages predict and the folds' predict seconds scaled to those rows
  (`estimate_tail`). The deadline keeps the best trial's `STUDY_FILES_S + BUDGET_MARGIN x
  tune.timeout + REFIT_MARGIN x refit + tail` free (`tune.reserve_refit`), re-estimated
  after every trial, so the study stops early enough for the final fit, evaluation and
  save to end within `tune.timeout`; the final fit itself stops adding trees when only the
  tail is left (mlconf.ml.tuning.deadline.final_fit_within), which holds under a load that
  rose after the estimate was made.
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
BOOST_SECONDS = "boost_s"  # trial user attribute: each fold's seconds in its boosting loop
EVAL_SECONDS = "eval_s"  # trial user attribute: of those, scoring the watched rows each round
TAIL = "tail_s"  # trial user attribute: estimated seconds after its final fit (evaluate, save)
# The stages after the final fit score the test rows with bootstrap intervals and draw
# their plots (in the background, waited for at the end): TAIL_ROW_S per row; they predict
# those rows and save the model, which costs what predicting costs, TAIL_PREDICTS times.
# Fitted to what the tail took after the drawing process stopped importing scikit-learn
# (benchmarks/README.md, issue 18, round 5, load 2-4): 2.9-5.7 s on flights' 30,000 test
# rows (estimated 9.0-9.7 s by round 4's 2.5 s + 0.2 ms a row), 0.6 s on gss_wages' 7,600
# (estimated 4.1 s). Round 4 saw the plots' wait take up to 3.5 s on 8,000-9,000 rows at
# load 4-6, with the older, costlier drawing.
TAIL_ROW_S = 0.00015
TAIL_PREDICTS = 2.0
TAIL_FIXED_S = 1.5
# Between the study's end and the final fit: trials.csv, the tuning plots, best_params.json
# (0.6-0.8 s on those tables).
STUDY_FILES_S = 1.0
# The refit estimate is a median over folds timed under the load of the moment: kept
# with this margin, since the final fit is capped anyway (final_fit_within).
REFIT_MARGIN = 1.1
# A share of tune.timeout kept for what no estimate sees: the trial running when the
# deadline falls, a study whose files take longer, a load that rises. Without it the final
# fit was cut to 51 of 101 trees (flights) and 67 of 172 (gss_wages) at 300 s, where the
# study's files and its last trial took 0.4-1.4 s more than kept (benchmarks/README.md,
# issue 18, rounds 4 and 6): a tuned model cut short can be worse than the default.
BUDGET_MARGIN = 0.01


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


@dataclass(frozen=True)
class Boosting:
    """How one boosting fold's fit seconds split: its loop of rounds, and of that loop the
    scoring of the watched rows after each round (the final fit does not score)."""

    rounds: int
    loop_seconds: float
    eval_seconds: float


def estimate_refit(
    fit_seconds: Sequence[float],
    fold_rows: int,
    train_rows: int,
    rounds: Sequence[int | None] = (),
    refit_trees: int | None = None,
    boosting: Sequence[Boosting | None] = (),
) -> Refit:
    """The final fit's seconds from the folds' fit seconds, scaled by rows and trees.

    With `boosting` timed for every fold: set-up (fit seconds outside the loop) plus
    seconds per round without the per-round scoring, times the refit's trees."""
    if not fit_seconds:
        return Refit(0.0, 1.0, 1.0)
    rows_ratio = train_rows / max(1, fold_rows)
    timed = [b for b in boosting if b is not None and b.rounds > 0]
    if timed and len(timed) == len(fit_seconds):
        setup = statistics.median(
            max(0.0, f - b.loop_seconds) for f, b in zip(fit_seconds, timed, strict=True)
        )
        per_round = statistics.median(
            max(0.0, b.loop_seconds - b.eval_seconds) / b.rounds for b in timed
        )
        trained = statistics.median(b.rounds for b in timed)
        trees = refit_trees or trained
        seconds = rows_ratio * (setup + per_round * trees)
        return Refit(seconds, rows_ratio, trees / trained)
    per_fold = statistics.median(fit_seconds)
    trained_rounds = [r for r in rounds if r]
    trees_ratio = 1.0
    if refit_trees and trained_rounds and len(trained_rounds) == len(rounds):
        trees_ratio = refit_trees / statistics.median(trained_rounds)
    return Refit(per_fold * rows_ratio * trees_ratio, rows_ratio, trees_ratio)


def estimate_tail(predict_seconds: Sequence[float], held_rows: int, later_rows: int) -> float:
    """Seconds of the stages after the final fit (evaluate, save): TAIL_ROW_S per row they
    predict, the folds' predict seconds scaled to those rows TAIL_PREDICTS times, and
    TAIL_FIXED_S."""
    predicting = 0.0
    if predict_seconds:
        predicting = statistics.median(predict_seconds) / max(1, held_rows) * later_rows
    return TAIL_FIXED_S + TAIL_ROW_S * later_rows + TAIL_PREDICTS * predicting


def reserve_seconds(refit: float, tail: float, timeout: float | None = None) -> float:
    """What the study keeps free of tune.timeout for the best trial: the study's files, a
    share of the budget, the refit (with its margin) and the tail."""
    return STUDY_FILES_S + BUDGET_MARGIN * (timeout or 0.0) + REFIT_MARGIN * refit + tail


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

    def __init__(self, study: Any, tune: Any, rows: int, later_rows: int = 0) -> None:
        check_scoring(tune.scoring, tune.holdout_rows, tune.holdout_share)
        self.study = study
        self.folds = int(tune.folds)
        self.timeout = tune.timeout
        self.share = float(tune.holdout_share)
        self.rows = rows
        self.later_rows = later_rows  # rows the stages after the final fit predict
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

    def finish(
        self,
        trial: Any,
        rounds: Sequence[int | None],
        params: dict[str, Any],
        boosting: Sequence[Boosting | None] = (),
        predict_seconds: Sequence[float] = (),
    ) -> None:
        """Record the trees each fold trained, how its boosting time split, and the estimated
        seconds of its final fit and of what follows it."""
        if rounds and all(r is not None for r in rounds):
            trial.set_user_attr(ROUNDS, list(rounds))
        if boosting and all(b is not None for b in boosting):
            loops = [round(b.loop_seconds, 3) for b in boosting if b is not None]
            trial.set_user_attr(BOOST_SECONDS, loops)
            evals = [round(b.eval_seconds, 3) for b in boosting if b is not None]
            trial.set_user_attr(EVAL_SECONDS, evals)
        seconds = trial.user_attrs.get(FIT_SECONDS) or []
        trees = refit_trees(params)
        refit = estimate_refit(seconds, self.fold_rows, self.rows, rounds, trees, boosting)
        trial.set_user_attr(REFIT, round(refit.seconds, 3))
        tail = estimate_tail(predict_seconds, self.rows - self.fold_rows, self.later_rows)
        trial.set_user_attr(TAIL, round(tail, 3))

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
        tail = float(best.user_attrs.get(TAIL) or 0.0)
        deadline.tail = tail
        refit = float(best.user_attrs.get(REFIT) or 0.0)
        deadline.reserve = reserve_seconds(refit, tail, deadline.seconds)

    return callback


def say_budget(ctx: Any, deadline: Any, fidelity: Fidelity) -> None:
    """Tell (console) and record (run.json counts `tuning_budget`) what the trials were
    scored on, what was kept free for the final fit, and when the study stopped."""
    record: dict[str, Any] = {
        "scoring": fidelity.mode if fidelity.mode != "auto" else "cv",
        "timeout_s": deadline.seconds,
        "reserve_s": round(deadline.reserve, 3),
        "tail_s": round(deadline.tail, 3),
        "stopped_s": None if deadline.stopped_at is None else round(deadline.stopped_at, 3),
        "tuned_s": round(deadline.elapsed, 3),
    }
    ctx.count("tuning_budget", record)
    line = f"  trials scored by {fidelity.describe()}"
    if deadline.seconds is not None:
        line += (
            f"; {deadline.reserve:.1f} s of {deadline.name} kept for the "
            f"final fit, evaluation and save (estimated from the best trial's folds); tuning took "
            f"{deadline.elapsed:.1f} s"
        )
    ctx.console.print(line)
