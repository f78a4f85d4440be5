"""Trees learned, not searched: early stopping inside each fold, the folds' median for the refit.

Searching the number of boosting rounds wastes trials: a trial with too few rounds is
worse, one with too many is slow and (with a held-out set) no better. With a generous cap
and early stopping inside each fold, each fold finds its own count; the final model, fitted
once on all the training rows where there may be no validation part to stop on, takes the
median of the best trial's fold counts as a fixed number of trees.

- xgboost (`early_stopping_rounds` set): the rounds up to its best iteration on the fold's
  held-out rows (what its predictions use);
- hist_gb (`early_stopping: true`): the iterations it kept, stopped on its own inner split
  (`validation_fraction` of the fold's training rows).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

TREES = "trees"  # user attribute of a trial: the learned tree count of each fold


def fold_trees(estimator: Any) -> int | None:
    """The trees a fitted fold model uses after early stopping; None if it did not stop early."""
    if hasattr(estimator, "get_xgb_params"):
        if getattr(estimator, "early_stopping_rounds", None) is None:
            return None
        try:
            return int(estimator.best_iteration) + 1
        except AttributeError:  # xgboost sets it only when early stopping ran
            return None
    if getattr(estimator, "early_stopping", None) is True and hasattr(estimator, "n_iter_"):
        return int(estimator.n_iter_)
    return None


def refit_params(params: dict[str, Any], trees: Sequence[int]) -> dict[str, Any]:
    """The params of the final fit: the folds' median tree count, early stopping off."""
    if not trees:
        return params
    count = max(1, round(statistics.median(trees)))
    if params.get("early_stopping_rounds") is not None:
        return {**params, "n_estimators": count, "early_stopping_rounds": None}
    if params.get("early_stopping") is True:
        return {**params, "max_iter": count, "early_stopping": False}
    return params
