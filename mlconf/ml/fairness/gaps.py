"""The gaps between groups (differences and ratios of a per-group metric), with bootstrap draws.

A gap measured on a few dozen rows per group moves a lot from one sample to the next, so
a limit judged on the estimate alone passes or fails on the luck of the split. Each
resample draws the assessed rows with replacement (the evaluation's seeded resampling, so
the same seed draws the same rows), sums every group's per-row outcomes weighted by how
often each row was drawn, and turns the sums into rates through the metric kernels: one
sparse product per chunk of resamples, whatever the number of groups. The groups compared
are fixed on all rows (the large ones); a group a resample misses has undefined rates there.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlconf.components.metrics import kernels
from mlconf.components.metrics.kernels import Confusion
from mlconf.ml.evaluation.bootstrap import percentile_interval, resample_counts, resamples

KINDS = ("difference", "ratio", "odds")
ODDS = ("true_positive_rate", "false_positive_rate")  # the rates of equalized odds


@dataclass(frozen=True)
class Resampling:
    """The project's bootstrap settings (metrics.bootstrap, confidence, max_bootstrap_rows)."""

    bootstrap: int = 200
    confidence: float = 0.95
    max_rows: int = 100_000
    seed: int = 0


@dataclass(frozen=True)
class GroupDraws:
    """Each metric per compared group (rows) and resample (columns), and the interval scale."""

    metrics: dict[str, np.ndarray]
    shrink: float  # sqrt(m / n) of an m-out-of-n bootstrap, 1 otherwise


def spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max - min, min / max) over groups (rows) of each draw (column), of the defined values.

    NaN where no group is defined; the ratio is NaN where the highest value is not positive.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        high, low = np.nanmax(values, axis=0), np.nanmin(values, axis=0)
    ratio = kernels.divide(low, np.where(high > 0, high, 0.0), math.nan)
    return high - low, ratio


def statistic(metrics: Mapping[str, Any], metric: str, kind: str) -> np.ndarray:
    """A check's statistic per draw from metrics given as (groups x draws) arrays.

    `odds` is fairlearn's equalized odds difference: the larger of the true and false
    positive rate gaps that is defined.
    """
    if kind == "odds":
        gaps = np.stack([spread(np.asarray(metrics[m], dtype=float))[0] for m in ODDS])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmax(gaps, axis=0)
    difference, ratio = spread(np.asarray(metrics[metric], dtype=float))
    return difference if kind == "difference" else ratio


def interval(
    value: float, draws: GroupDraws | None, metric: str, kind: str, confidence: float
) -> tuple[float | None, float | None]:
    """The percentile interval of a check's statistic over the resamples (None without any)."""
    if draws is None:
        return None, None
    stat = statistic(draws.metrics, metric, kind)
    return percentile_interval(value, stat, confidence, draws.shrink)


def group_draws(
    y_true: Any,
    y_pred: Any,
    codes: np.ndarray,
    n_groups: int,
    *,
    task: str,
    binary: bool,
    resampling: Resampling,
) -> GroupDraws | None:
    """The compared groups' metrics on each resample; `codes` is each row's group (-1: none).

    None when no resample is asked for (metrics.bootstrap: 0) or there is no row.
    """
    n = len(codes)
    if resampling.bootstrap == 0 or n == 0 or n_groups == 0:
        return None
    from scipy import sparse

    columns = _row_columns(y_true, y_pred, task, binary)
    k = columns.shape[1]
    kept = np.flatnonzero(codes >= 0)
    rows = np.repeat(kept, k)
    cols = (codes[kept][:, None] * k + np.arange(k)).ravel()
    design = sparse.csr_matrix(
        (columns[kept].ravel(), (rows, cols)), shape=(n, n_groups * k)
    ).T.tocsr()
    m = min(n, resampling.max_rows)
    sums = np.empty((n_groups * k, resampling.bootstrap))
    chunks = resamples(
        n, bootstrap=resampling.bootstrap, m=m, seed=resampling.seed, width=n_groups * k
    )
    for done, idx in chunks:
        sums[:, done] = design @ resample_counts(idx, n)
    by_column = sums.reshape(n_groups, k, resampling.bootstrap).transpose(1, 0, 2)
    return GroupDraws(_metrics_of_sums(by_column, task, binary), math.sqrt(m / n))


def _row_columns(y_true: Any, y_pred: Any, task: str, binary: bool) -> np.ndarray:
    """The per-row quantities whose sums give the compared metrics (n x k)."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    one = np.ones(len(true))
    if task == "regression":
        error = np.abs(true.astype(float) - pred.astype(float))
        return np.column_stack([error, one])
    if binary:
        t, p = true == 1, pred == 1
        return np.column_stack([t & p, ~t & p, t & ~p, ~t & ~p]).astype(float)
    import pandas as pd

    hit = np.asarray((true == pred) & pd.notna(true), dtype=float)
    return np.column_stack([hit, one])  # a missing label is never equal: a miss


def _metrics_of_sums(sums: np.ndarray, task: str, binary: bool) -> dict[str, np.ndarray]:
    """Per-group metrics (groups x draws) from the summed row columns (k x groups x draws)."""
    if task == "regression":
        return {"mae": kernels.mean(sums[0], sums[1])}
    if binary:
        confusion = Confusion.of_outcomes(*sums)
        return {
            "selection_rate": kernels.selection_rate(confusion),
            "true_positive_rate": kernels.true_positive_rate(confusion),
            "false_positive_rate": kernels.false_positive_rate(confusion),
            "accuracy": kernels.accuracy(confusion),
        }
    return {"accuracy": kernels.mean(sums[0], sums[1])}
