"""k-fold cross-validation on the training part: the estimate behind CV and model selection."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlconf.ml.scoring import predictions, score_part
from mlconf.ml.training import fit

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig


def cross_validate(
    conf: TrainConfig,
    n_classes: int,
    pipeline: Any,
    x: pd.DataFrame,
    y: Any,
    folds: int,
    *,
    label: str,
    say: Callable[[str], None] | None = None,
    on_fold: Callable[[int, dict[str, list[float]]], None] | None = None,
    before_fit: Callable[[int, Any], None] | None = None,
    metrics: list[str] | None = None,
    stop_after: Callable[[int], bool] | None = None,
    watch_rows: int = 0,
    fit_rows: int = 0,
) -> dict[str, Any]:
    """Mean, spread and fold values of every metric, plus fit and predict seconds.

    `label` names the model in messages; `say` hears of each finished fold.
    `on_fold(i, values_so_far)` runs after each fold: tuning reports to Optuna there, and
    may raise to stop a hopeless trial early (pruning). `before_fit(i, pipeline)` may
    adjust fold i's fresh copy of the pipeline (tuning adds a per-round pruning callback).
    `metrics` limits scoring to those names (tuning scores only the primary metric).
    `stop_after(i)` true ends the CV after fold i (tuning's holdout: the first fold only).
    `watch_rows` > 0: a boosting model watches at most that many of the held-out rows (a
    seeded sample) for early stopping; each fold is still scored on all of them.
    `fit_rows` > 0: each fold fits on at most that many of its training rows (a seeded
    sample: tuning's first rung over rows), scored on the same held-out rows.
    """
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter_cls = StratifiedKFold if conf.problem.task == "classification" else KFold
    splitter = splitter_cls(n_splits=folds, shuffle=True, random_state=conf.seed)
    per_fold: dict[str, list[float]] = {"fit_seconds": [], "predict_seconds": []}
    for i, (fit_idx, val_idx) in enumerate(splitter.split(x, y)):
        start = time.perf_counter()
        if 0 < fit_rows < len(fit_idx):
            fit_idx = fit_idx[_sample(len(fit_idx), fit_rows, [conf.seed, i, 1])]
        held_out = (x.iloc[val_idx], y[val_idx])
        fold_pipeline = clone(pipeline)
        if before_fit is not None:
            before_fit(i, fold_pipeline)
        watched = held_out
        if 0 < watch_rows < len(val_idx):
            pick = _sample(len(val_idx), watch_rows, [conf.seed, i])
            watched = (held_out[0].iloc[pick], held_out[1][pick])
        fold_model = fit(
            fold_pipeline, x.iloc[fit_idx], y[fit_idx], label, watched, conf.problem.class_weight
        )
        fitted = time.perf_counter()
        y_pred, y_proba = predictions(fold_model, held_out[0], conf.problem.task)
        per_fold["fit_seconds"].append(fitted - start)
        per_fold["predict_seconds"].append(time.perf_counter() - fitted)
        scores = score_part(
            conf, n_classes, y[val_idx], y_pred, y_proba, bootstrap=0, metrics=metrics
        )
        for metric, value in scores.items():
            per_fold.setdefault(metric, []).append(value.value)
        if say is not None:
            say(f"  {label}: fold {i + 1}/{folds} done")
        if on_fold is not None:
            on_fold(i, per_fold)
        if stop_after is not None and stop_after(i):
            break
    return {
        metric: {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v)), "folds": v}
        for metric, v in per_fold.items()
    }


def _sample(rows: int, at_most: int, seed: list[int]) -> Any:
    """Positions of a seeded sample of `at_most` (fewer than `rows`) rows, in order."""
    import numpy as np

    return np.sort(np.random.default_rng(seed).choice(rows, at_most, replace=False))
