"""The arithmetic of every built-in metric, on counts and sums rather than on rows.

A metric of labels is a function of the confusion margins (per class: hits, rows truly
of it, rows predicted as it); a regression metric of residual sums; a ranking metric of
positives and negatives per score tie group. Each kernel takes those counts with one
column per draw, so the same code scores one evaluation (one draw of every row), a
thousand bootstrap resamples at once, the candidates of a decision threshold (one
column per threshold), or the groups of a fairness check.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np


def divide(num: Any, den: Any, fill: float) -> np.ndarray:
    """num / den, with `fill` where den is 0."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), den)
    return np.divide(num, den, out=np.full(num.shape, fill), where=den != 0)


def column_sums(a: np.ndarray) -> np.ndarray:
    return np.ones(len(a)) @ a  # BLAS: several times faster than a.sum(axis=0) here


def tail_sums(a: np.ndarray) -> np.ndarray:
    """Sums over the rows at or after each row (groups at or above each score)."""
    return np.cumsum(a[::-1], axis=0)[::-1]


# --- labels: the confusion margins --------------------------------------------------------------


@dataclass(frozen=True)
class Confusion:
    """Per class (rows) and draw (columns): hits, rows truly of the class, rows predicted as it.

    `positive` is the scored class of a binary problem, -1 for a macro average over classes.
    """

    hits: np.ndarray
    true: np.ndarray
    pred: np.ndarray
    total: Any  # rows per draw: a number, or one per column
    positive: int = -1

    @classmethod
    def of_codes(
        cls, true: np.ndarray, pred: np.ndarray, n_classes: int, positive: int = -1
    ) -> Confusion:
        """The margins of one draw of rows given as class codes."""
        hits = np.bincount(true[true == pred], minlength=n_classes)
        true_n, pred_n = (np.bincount(c, minlength=n_classes) for c in (true, pred))
        return cls(hits[:, None], true_n[:, None], pred_n[:, None], len(true), positive)

    @classmethod
    def of_outcomes(cls, tp: Any, fp: Any, fn: Any, tn: Any) -> Confusion:
        """A binary problem's margins (class 1 positive) from counts of the four outcomes."""
        tp, fp, fn, tn = (np.asarray(a, dtype=float) for a in (tp, fp, fn, tn))
        return cls(
            hits=np.stack([tn, tp]),
            true=np.stack([tn + fp, tp + fn]),
            pred=np.stack([tn + fn, tp + fp]),
            total=tp + fp + fn + tn,
            positive=1,
        )


def accuracy(c: Confusion) -> np.ndarray:
    return divide(c.hits.sum(axis=0), c.total, math.nan)


def balanced_accuracy(c: Confusion) -> np.ndarray:
    """Mean recall over the classes present in y_true."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(divide(c.hits, c.true, math.nan), axis=0)


def _prf(c: Confusion, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Of the positive class, or the macro mean over classes seen; a zero denominator is 0."""
    if c.positive >= 0:
        return divide(num[c.positive], den[c.positive], 0.0)
    seen = (c.true + c.pred) > 0
    return (divide(num, den, 0.0) * seen).sum(axis=0) / seen.sum(axis=0)


def precision(c: Confusion) -> np.ndarray:
    return _prf(c, c.hits, c.pred)


def recall(c: Confusion) -> np.ndarray:
    return _prf(c, c.hits, c.true)


def f1(c: Confusion) -> np.ndarray:
    return _prf(c, 2 * c.hits, c.true + c.pred)


def mcc(c: Confusion) -> np.ndarray:
    """Matthews correlation from the confusion matrix margins, as sklearn computes it."""
    n = np.asarray(c.total, dtype=float)
    cov_tp = c.hits.sum(axis=0) * n - (c.true * c.pred).sum(axis=0)
    cov_pp = n**2 - (c.pred**2).sum(axis=0)
    cov_tt = n**2 - (c.true**2).sum(axis=0)
    return divide(cov_tp, np.sqrt(cov_pp * cov_tt), 0.0)


def selection_rate(c: Confusion) -> np.ndarray:
    """Share of rows predicted as the positive class."""
    return divide(c.pred[c.positive], c.total, math.nan)


def true_positive_rate(c: Confusion) -> np.ndarray:
    """Recall of the positive class; undefined (nan) without positive rows."""
    return divide(c.hits[c.positive], c.true[c.positive], math.nan)


def false_positive_rate(c: Confusion) -> np.ndarray:
    """Share of negative rows predicted positive; undefined (nan) without negative rows."""
    false_alarms = c.pred[c.positive] - c.hits[c.positive]
    return divide(false_alarms, c.total - c.true[c.positive], math.nan)


# --- regression: residual sums ------------------------------------------------------------------


def mean(total_of_rows: np.ndarray, total: Any) -> np.ndarray:
    """A per-row quantity's mean from its sum (mae, mape, log loss, Brier)."""
    return divide(total_of_rows, total, math.nan)


def rmse(squared_errors: np.ndarray, total: Any) -> np.ndarray:
    return np.sqrt(mean(squared_errors, total))


def r2(y: np.ndarray, counts: np.ndarray, ss_res: np.ndarray, total: int) -> np.ndarray:
    """1 - SSres/SStot; a constant target scores 1 if predicted exactly, else 0 (as metrics.r2).

    SStot is summed around each draw's mean from the counts (rows x draws), not taken from
    moments, which cancel catastrophically on draws of nearly constant targets.
    """
    deviation = y[:, None] - (y @ counts) / total
    ss_tot = np.einsum("ij,ij,ij->j", counts, deviation, deviation)
    # a constant draw leaves only the rounding of its mean; check those exactly
    constant = ss_tot <= total * (1e-8 * np.abs(y).max()) ** 2
    for j in np.flatnonzero(constant):
        drawn = y[counts[:, j] > 0]
        constant[j] = drawn.min() == drawn.max()
    value = np.where(constant, (ss_res == 0).astype(float), 1 - divide(ss_res, ss_tot, 1.0))
    return value if total >= 2 else np.full_like(value, math.nan)


def median_ae(ordered_errors: np.ndarray, order_counts: np.ndarray, total: int) -> np.ndarray:
    """Weighted median of the absolute errors (ascending), drawn `order_counts` times each."""
    low, high = order_positions(order_counts, ((total - 1) // 2, total // 2), total)
    return (ordered_errors[low] + ordered_errors[high]) / 2


def order_positions(counts: np.ndarray, ranks: tuple[int, ...], total: int) -> list[np.ndarray]:
    """Per draw, the sorted position holding each 0-based rank of its drawn rows.

    A running count over all n positions is the slow part, so it runs over a window
    around where the ranks fall in expectation (10 standard deviations wide); draws
    whose ranks fall outside (practically never) are counted in full.
    """
    n = len(counts)
    spread = 10 * n / math.sqrt(total) + 2
    lo = max(0, int(n * min(ranks) / total - spread))
    hi = min(n, int(n * (max(ranks) + 1) / total + spread) + 1)
    running = column_sums(counts[:lo]) + np.cumsum(counts[lo:hi], axis=0)
    outside = (running[0] - counts[lo] > min(ranks)) | (running[-1] <= max(ranks))
    if outside.any():
        running = np.cumsum(counts, axis=0)
        lo = 0
    return [lo + (running <= rank).sum(axis=0) for rank in ranks]


# --- ranking: positives and negatives per score tie group --------------------------------------


class RankCounts:
    """One class's drawn positives and negatives per score tie group (ascending), per draw."""

    def __init__(self, counts: np.ndarray, total: int) -> None:
        half = len(counts) // 2
        self.pos, self.neg = counts[:half], counts[half:]
        self.n_pos = column_sums(self.pos)
        self.n_neg = total - self.n_pos

    @cached_property
    def pos_at_or_above(self) -> np.ndarray:
        return tail_sums(self.pos)

    @cached_property
    def neg_at_or_above(self) -> np.ndarray:
        return tail_sums(self.neg)

    def defined(self, values: np.ndarray) -> np.ndarray:
        """nan where the draw lacks positives or negatives of the class."""
        return np.where((self.n_pos > 0) & (self.n_neg > 0), values, math.nan)


def roc_auc(ranked: list[RankCounts]) -> np.ndarray:
    """Mann-Whitney: P(a positive scores above a negative), ties counting one half;
    the mean over the ranked classes (one-vs-rest)."""
    values = []
    for r in ranked:
        # pairs a positive does not win: negatives above it, and half of those tied with it
        losses = np.einsum("ij,ij->j", r.pos, r.neg_at_or_above - 0.5 * r.neg)
        pairs = r.n_pos * r.n_neg
        values.append(r.defined(divide(pairs - losses, pairs, math.nan)))
    return np.mean(values, axis=0)


def pr_auc(ranked: list[RankCounts]) -> np.ndarray:
    """Average precision: precision at each tie group's threshold, weighted by its positives."""
    values = []
    for r in ranked:
        pos_above, neg_above = r.pos_at_or_above, r.neg_at_or_above
        precision_above = divide(pos_above, pos_above + neg_above, 0.0)
        ap = divide(np.einsum("ij,ij->j", r.pos, precision_above), r.n_pos, math.nan)
        values.append(r.defined(ap))
    return np.mean(values, axis=0)
