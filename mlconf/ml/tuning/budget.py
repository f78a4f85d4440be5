"""A trial budget for the whole study, shared by every worker: `tune.total_trials`.

`tune.n_trials` counts the trials of one run, so N workers on one database study run N
times as many. With `tune.total_trials` each worker keeps starting trials until the study
holds that many finished ones (complete or pruned), whoever ran them:

- before each trial a worker counts finished + running trials; when they reach the total
  it waits instead, because a running trial may still fail (its worker killed) and need
  a replacement. While waiting it marks trials whose heartbeat stopped as failed (after
  `tune.grace_period`), so a dead worker's trial is replaced by a living worker;
- two workers may start the last trial at the same moment. The trial with the higher
  number sees it is over the total and ends at once as FAIL with the user attribute
  `over_budget` (no model is fitted for it), so finished trials never exceed the total;
- failed trials do not count; a worker whose own trials all fail stops after `total` of
  them rather than loop forever.

This is Optuna's MaxTrialsCallback made exact: that callback stops a worker only after its
own trial ends, so concurrent workers overshoot, and a trial failed by the heartbeat is
not replaced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

# Seconds between looks at the study while other workers' trials decide whether it is done.
WAIT_POLL = 1.0
OVER_BUDGET = "over_budget"


def worker_seed(seed: int) -> int:
    """`seed` mixed with this host and process: workers started together with one config
    would otherwise sample the same parameters. Distributed runs are not reproducible."""
    import os
    import socket
    import zlib

    import numpy as np

    identity = zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
    return int(np.random.SeedSequence([seed, identity]).generate_state(1)[0])


class OverBudgetError(Exception):
    """A trial started after the study reached its total (a race between workers)."""


def run_to_total(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    *,
    total: int,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    catch: tuple[type[Exception], ...] = (),
    poll: float = WAIT_POLL,
) -> list[optuna.trial.FrozenTrial]:
    """Run trials until the study holds `total` finished trials; return this worker's trials.

    `timeout` (seconds) stops starting new trials and stops waiting for other workers.
    """
    from optuna.trial import TrialState

    from mlconf.ml.tuning.study import fail_stale

    finished_states = (TrialState.COMPLETE, TrialState.PRUNED)
    counted = (*finished_states, TrialState.RUNNING)
    mine: list[optuna.trial.FrozenTrial] = []
    surplus: set[int] = set()

    def remember(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        mine.append(trial)

    def guarded(trial: optuna.Trial) -> float:
        ahead = study.get_trials(deepcopy=False, states=counted)
        if sum(t.number < trial.number for t in ahead) >= total:
            trial.set_user_attr(OVER_BUDGET, True)
            surplus.add(trial.number)
            raise OverBudgetError(
                f"the study already has {total} trials (tune.total_trials): another worker "
                "started the last one at the same moment, so this one is not needed"
            )
        return objective(trial)

    catching = (*catch, OverBudgetError)
    start = time.monotonic()
    failed = 0
    while timeout is None or time.monotonic() - start < timeout:
        fail_stale(study)
        trials = study.get_trials(deepcopy=False, states=counted)
        finished = sum(t.state in finished_states for t in trials)
        if finished >= total:
            break
        if len(trials) >= total:  # the running trials may finish the study
            time.sleep(poll)
            continue
        if failed >= total:
            break
        with _quiet_about(surplus):
            study.optimize(guarded, n_trials=1, callbacks=[remember], catch=catching)
        last = mine[-1]
        if last.user_attrs.get(OVER_BUDGET):
            mine.pop()
            continue
        failed += last.state == TrialState.FAIL
        for callback in callbacks:
            callback(study, last)
    return mine


@contextmanager
def _quiet_about(surplus: set[int]) -> Iterator[None]:
    """Optuna logs a failed trial with its traceback; a surplus trial is no failure."""

    def keep(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(f"Trial {n} failed") for n in surplus)

    logger = logging.getLogger("optuna.study._optimize")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)
