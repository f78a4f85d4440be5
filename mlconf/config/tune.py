"""The `tune` group's schema: how a search spends its budget (mlconf.stages.tune)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TuneConfig:
    """How the search runs: budget, storage (resumable), sampler and pruner by name."""

    n_trials: int = 20
    total_trials: int | None = None
    timeout: float | None = None
    timeout_from: str = "tune"  # tune: from the tune stage's start; process: from the process's
    folds: int = 3
    storage: str | None = None
    study_name: str | None = None
    heartbeat_interval: int = 60
    grace_period: int = 120
    sampler: str = "tpe"
    sampler_params: dict[str, Any] = field(default_factory=dict)
    pruner: str = "median"
    pruner_params: dict[str, Any] = field(default_factory=dict)
    prune_every_rounds: int = 10
    default_first: bool = True  # score model.params first, keep it unless beaten (issue 18)
    n_jobs: int = 1  # trials run at once, each model on one thread (issue 18)
    # what each trial is scored on: cv (tune.folds-fold CV), holdout (the first of those
    # folds only), auto (holdout from tune.holdout_rows rows, or when the default trial's
    # first fold takes over tune.holdout_share of tune.timeout; else cv)
    scoring: str = "auto"
    holdout_rows: int = 50_000  # auto: holdout from this many training rows (0: rows never decide)
    holdout_share: float = 0.1  # auto: holdout when one fold takes over this share of tune.timeout
    # boosting trials watch at most this many held-out rows each round for early stopping and
    # pruning (a seeded sample; scoring them every round was up to half a trial's time on
    # 40k rows); each trial is still scored on all of its held-out rows. 0: all of them.
    watch_rows: int = 10_000
    # boosting trials whose fold fits on 4x this many rows or more first fit on this many (a
    # seeded sample) and are pruned there when worse than the completed trials (successive
    # halving over rows, mlconf.ml.tuning.rungs); 0 (the default: at 60 s on flights the
    # sample cost half a full trial and pruned nothing, benchmarks/README.md): no sample
    subsample_rows: int = 0
    reserve_refit: bool = True  # stop the study early enough for the final fit within tune.timeout
