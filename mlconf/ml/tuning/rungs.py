"""Successive halving over rows: on a big table a boosting trial first fits on a sample.

Round pruning (mlconf.ml.tuning.rounds) stops a hopeless trial after some dozens of rounds,
but each of those rounds is paid on all of the fold's rows: on flights (80,000 rows per
fold) a portfolio entry took 10 s to show that it was worse. Cost-frugal tuners (FLAML)
score a configuration on a small sample first and grow the sample only for the promising
ones. Here a trial whose fold fits on at least RUNG_FACTOR x `tune.subsample_rows` rows
is first fitted on `tune.subsample_rows` of them (a seeded sample, the same for every
trial) and scored on the fold's held-out rows. Successive halving with η = 2, as
asynchronous (ASHA) tuners do it: once MIN_PEERS earlier trials have a score on the
sample, a trial below their median stops there (PRUNED); only a promoted trial fits on all
the rows. This rule is its own, not the pruner's: Optuna's median pruner waits for five
complete trials, which is the whole of a minute's budget on such a table. The score is
also reported to the pruner at RUNG_STEP. The default configuration has no rung: it is
never pruned.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

RUNG = "rung"  # trial user attribute: the sample's rows and the trial's score on it
# The pruner's step of the rung: before every round step (fold x stride + rounds >= 1), so
# the trial's last step, which the pruner judges, is a round step once the rounds start.
RUNG_STEP = 0
# A rung on a sample of more than a quarter of the rows would save too little to pay for
# itself (a promoted trial pays for the rung and the full fit).
RUNG_FACTOR = 4
MIN_PEERS = 2  # earlier trials scored on the sample before the rung stops any trial


def rung_rows(fold_rows: int, subsample_rows: int) -> int:
    """The rows of the first rung, or 0 (no rung) when `subsample_rows` is 0 or the fold
    has fewer than RUNG_FACTOR times as many rows."""
    if subsample_rows <= 0 or fold_rows < RUNG_FACTOR * subsample_rows:
        return 0
    return subsample_rows


def promoted(value: float, peers: Sequence[float], higher: bool) -> bool:
    """Whether a score on the sample goes on to all the rows: with fewer than MIN_PEERS
    earlier scores always, else when it is at least their median (the better half)."""
    if len(peers) < MIN_PEERS:
        return True
    middle = statistics.median(peers)
    return value >= middle if higher else value <= middle


def climb(trial: Any, rows: int, score: Callable[[int], float]) -> float:
    """Score `trial` fitted on `rows` rows (`score(rows)`) and stop it (TrialPruned) unless
    it is in the better half of the earlier trials' scores on that sample (`promoted`)."""
    import optuna

    value = score(rows)
    if math.isnan(value):  # not stored: a NaN among the peers would make their median arbitrary
        return value
    trial.set_user_attr(RUNG, {"rows": rows, "value": round(value, 6)})
    trial.report(value, step=RUNG_STEP)
    earlier = trial.study.get_trials(deepcopy=False)
    peers = [
        float(t.user_attrs[RUNG]["value"])
        for t in earlier
        if t.number != trial.number and t.user_attrs.get(RUNG, {}).get("rows") == rows
    ]
    higher = trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
    if not promoted(value, peers, higher):
        raise optuna.TrialPruned(f"below the median of {len(peers)} trials on {rows:,} rows")
    return value


def deadline_only(trial: Any, deadline: Any) -> Callable[[int, Any], None]:
    """A cross_validate `before_fit` for the rung's fold: the deadline checked every round,
    no rounds reported to the pruner (they would sit at the full fit's steps)."""
    from mlconf.ml.tuning.rounds import fold_callbacks

    def before_fit(_fold: int, fold_pipeline: Any) -> None:
        fold_pipeline[-1].set_params(callbacks=fold_callbacks(trial, 0, None, 0, deadline))

    return before_fit
