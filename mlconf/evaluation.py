"""Metric sets with bootstrap confidence intervals, fast enough for large test sets.

A resample with replacement is a vector of row counts. Every built-in metric with a fast
path is a function of count-weighted sums of a few per-row columns (class indicators,
per-row losses and residuals, tie groups of predicted scores), so one sparse matrix
product scores a whole chunk of resamples at once, where calling sklearn on 200
resampled copies of a large test set would take minutes. Other metrics, including
users', are called on the resampled rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np
from scipy import sparse

from mlconf import registry
from mlconf.components import metrics as builtin
from mlconf.errors import MlconfError, did_you_mean

TASKS = ("classification", "regression")
# Cells of (design columns x resamples) scored per chunk: bounds memory to a few tens of MB.
_CHUNK_CELLS = 1 << 22
# Exceptions that mean "undefined on this resample" rather than "the metric is broken".
_UNDEFINED = (ValueError, ZeroDivisionError, FloatingPointError)


@dataclass
class MetricValue:
    """A metric's point estimate and bootstrap interval (None when no interval was computed)."""

    value: float
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: nan becomes None, since JSON has no nan."""
        return {key: _json_float(getattr(self, key)) for key in ("value", "low", "high")}


def _json_float(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


class _Rows:
    """The scored rows, checked and reduced once to integer class codes or float residuals."""

    def __init__(
        self,
        y_true: Any,
        y_pred: Any,
        y_proba: Any,
        *,
        labels: Sequence[Any] | None,
        positive_class: Any,
        task: str,
    ) -> None:
        self.y_true = np.asarray(y_true)
        self.y_pred = np.asarray(y_pred)
        self.n = len(self.y_true)
        if self.y_true.ndim != 1 or self.y_pred.shape != self.y_true.shape:
            raise MlconfError(
                f"y_true and y_pred must be 1-D and of equal length, got shapes "
                f"{self.y_true.shape} and {self.y_pred.shape}"
            )
        if self.n == 0:
            raise MlconfError("there are no rows to score", fix="check the test split")
        self.proba = None if y_proba is None else np.asarray(y_proba, dtype=np.float64)
        self.labels: list[Any] | None = None
        self.positive_class: Any = None
        self.positive = -1
        if task == "classification":
            self._encode_classes(labels, positive_class)
        else:
            self._check_regression()

    def _encode_classes(self, labels: Sequence[Any] | None, positive_class: Any) -> None:
        import pandas as pd

        if labels is None:
            labels = np.unique(np.concatenate([self.y_true, self.y_pred])).tolist()
        index = pd.Index(list(labels))
        if not index.is_unique:
            raise MlconfError(f"the class labels {list(labels)} contain duplicates")
        self.labels = index.tolist()
        self.n_classes = len(index)
        self.true = self._codes(index, self.y_true, "y_true")
        self.pred = self._codes(index, self.y_pred, "y_pred")
        if builtin.is_binary(self.labels):
            wanted = builtin.positive_label(self.labels, positive_class)
            self.positive = int(index.get_indexer([wanted])[0])
            if self.positive < 0:
                raise MlconfError(
                    f"positive_class {wanted!r} is not one of the classes {self.labels}",
                    where="problem.positive_class",
                    fix="set it to one of the classes, or leave it unset for the last one",
                )
            self.positive_class = self.labels[self.positive]
        if self.proba is not None:
            if self.proba.shape != (self.n, self.n_classes):
                raise MlconfError(
                    f"y_proba has shape {self.proba.shape}, expected ({self.n}, {self.n_classes}): "
                    f"one column per class, in the order of labels {self.labels}"
                )
            if not np.isfinite(self.proba).all():
                raise MlconfError("y_proba contains NaN or infinite values")

    def _codes(self, index: Any, values: np.ndarray, what: str) -> np.ndarray:
        """Class codes of `values`; hashing the few distinct values first keeps this fast."""
        import pandas as pd

        codes, distinct = pd.factorize(values)
        lookup = np.asarray(index.get_indexer(distinct), dtype=np.intp)
        if (codes < 0).any():
            raise MlconfError(f"{what} contains missing values", fix="drop or fill those rows")
        if (lookup < 0).any():
            raise MlconfError(
                f"{what} contains the label {distinct[lookup.argmin()]!r}, "
                f"which is not one of the classes {self.labels}",
                fix="pass every class in labels (e.g. the model's classes_)",
            )
        return lookup[codes]

    def _check_regression(self) -> None:
        try:
            self.y = self.y_true.astype(np.float64)
            self.y_hat = self.y_pred.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise MlconfError(f"regression targets and predictions must be numbers: {exc}") from exc
        if not (np.isfinite(self.y).all() and np.isfinite(self.y_hat).all()):
            raise MlconfError("y_true or y_pred contains NaN or infinite values")

    @property
    def ranked_classes(self) -> list[int]:
        """Classes whose scores are ranked: the positive one if binary, else each (one-vs-rest)."""
        return [self.positive] if self.positive >= 0 else list(range(self.n_classes))

    @cached_property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.y - self.y_hat)

    @cached_property
    def abs_error_order(self) -> np.ndarray:
        return np.argsort(self.abs_error, kind="stable")

    def call(self, component: registry.Component, idx: np.ndarray | None = None) -> float:
        """Call a metric's registered function on all rows, or on the rows `idx`."""
        y_true, y_pred, proba = self.y_true, self.y_pred, self.proba
        if idx is not None:
            y_true, y_pred = y_true[idx], y_pred[idx]
            proba = None if proba is None else proba[idx]
        return float(
            component.factory(
                y_true, y_pred, proba, labels=self.labels, positive_class=self.positive_class
            )
        )


# --- the design matrix: per-row columns whose weighted sums feed the fast metrics -----------

# A block: (row of each entry, column of each entry within the block, value, block width).
_Block = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def _dense_block(values: np.ndarray) -> _Block:
    """Columns of per-row values (n x k) as a block."""
    n, k = values.shape
    return np.repeat(np.arange(n), k), np.tile(np.arange(k), n), values.ravel(), k


def _classes_block(rows: _Rows) -> _Block:
    """Indicators of the true class, the predicted class, and the true class of hits."""
    k, r = rows.n_classes, np.arange(rows.n)
    hit = rows.true == rows.pred
    row = np.concatenate([r, r, r[hit]])
    col = np.concatenate([rows.true, k + rows.pred, 2 * k + rows.true[hit]])
    return row, col, np.ones(len(row)), 3 * k


def _log_loss_block(rows: _Rows) -> _Block:
    """Per-row log loss, clipped as sklearn does."""
    if rows.proba is None:
        raise RuntimeError("internal error: expected rows.proba is not None")
    eps = np.finfo(rows.proba.dtype).eps
    p = np.clip(rows.proba[np.arange(rows.n), rows.true], eps, 1 - eps)
    return _dense_block(-np.log(p)[:, None])


def _brier_block(rows: _Rows) -> _Block:
    """Per-row squared error of the positive class (binary) or mean over classes (multiclass)."""
    if rows.proba is None:
        raise RuntimeError("internal error: expected rows.proba is not None")
    onehot = np.eye(rows.n_classes)[rows.true]
    if rows.positive >= 0:
        sq = (onehot[:, rows.positive] - rows.proba[:, rows.positive]) ** 2
    else:
        sq = ((onehot - rows.proba) ** 2).mean(axis=1)
    return _dense_block(sq[:, None])


def _rank_block(rows: _Rows, k: int) -> _Block:
    """Indicators of (tie group of class k's score, is class k): positives, then negatives.

    Groups are numbered by ascending score, so the weighted counts per group give the
    ROC and precision-recall curves of any resample without sorting it. Runs of groups
    without positives are merged: only how many negatives lie between positives matters.
    """
    if rows.proba is None:
        raise RuntimeError("internal error: expected rows.proba is not None")
    scores = rows.proba[:, k]
    positive = rows.true == k
    order = np.argsort(scores, kind="stable")
    starts = np.empty(rows.n, dtype=bool)
    starts[0] = True
    np.not_equal(scores[order][1:], scores[order][:-1], out=starts[1:])
    group = np.empty(rows.n, dtype=np.intp)
    group[order] = np.cumsum(starts) - 1
    has_pos = np.bincount(group[positive], minlength=int(starts.sum())) > 0
    merged = np.cumsum(has_pos | np.concatenate([[True], has_pos[:-1]])) - 1
    n_groups = int(merged[-1]) + 1
    col = merged[group] + n_groups * ~positive
    return np.arange(rows.n), col, np.ones(rows.n), 2 * n_groups


def _residuals_block(rows: _Rows) -> _Block:
    """Squared, absolute and relative (as sklearn's mape) errors."""
    relative = rows.abs_error / np.maximum(np.abs(rows.y), np.finfo(np.float64).eps)
    return _dense_block(np.column_stack([rows.abs_error**2, rows.abs_error, relative]))


def _abs_order_block(rows: _Rows) -> _Block:
    """Each row's position in ascending order of absolute error, for the weighted median."""
    position = np.empty(rows.n, dtype=np.intp)
    position[rows.abs_error_order] = np.arange(rows.n)
    return np.arange(rows.n), position, np.ones(rows.n), rows.n


_BLOCKS: dict[str, Callable[[_Rows], _Block]] = {
    "classes": _classes_block,
    "log_loss": _log_loss_block,
    "brier": _brier_block,
    "residuals": _residuals_block,
    "abs_order": _abs_order_block,
}


class _Design:
    """The sparse (columns x rows) matrix of the blocks the requested fast metrics use."""

    def __init__(self, rows: _Rows, metrics: Iterable[_Fast]) -> None:
        self.rows = rows
        self.layout: dict[str, slice] = {}
        entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        width = 0
        blocks = [b for f in metrics for b in f.blocks]
        if "rank" in blocks:
            blocks = [b for b in blocks if b != "rank"]
            blocks += [f"rank:{k}" for k in rows.ranked_classes]
        for name in dict.fromkeys(blocks):
            kind, _, arg = name.partition(":")
            row, col, value, w = _rank_block(rows, int(arg)) if arg else _BLOCKS[kind](rows)
            entries.append((row, col + width, value))
            self.layout[name] = slice(width, width + w)
            width += w
        self.width = width
        row, col, value = (np.concatenate(part) for part in zip(*entries, strict=True))
        self.matrix = sparse.csr_matrix((value, (col, row)), shape=(width, rows.n))

    def sums(self, counts: np.ndarray, total: int) -> _Sums:
        """Weighted column sums for each column of `counts` (rows x resamples)."""
        return _Sums(self, counts, total)


class _Sums:
    """Per-resample sums of each block, shaped (block width, resamples); `counts` are the
    resamples themselves (rows x resamples) and `total` their number of rows."""

    def __init__(self, design: _Design, counts: np.ndarray, total: int) -> None:
        self.rows = design.rows
        self.counts = counts
        self.total = total
        self._design = design
        self._product = np.asarray(design.matrix @ counts)

    def __getitem__(self, block: str) -> np.ndarray:
        return self._product[self._design.layout[block]]

    @cached_property
    def ranked(self) -> list[_RankCounts]:
        """Tie-group counts per ranked class, shared by roc_auc and pr_auc."""
        return [_RankCounts(self[f"rank:{k}"], self.total) for k in self.rows.ranked_classes]


def _column_sums(a: np.ndarray) -> np.ndarray:
    return np.ones(len(a)) @ a  # BLAS: several times faster than a.sum(axis=0) here


def _tail_sums(a: np.ndarray) -> np.ndarray:
    """Sums over the rows at or after each row (groups at or above each score)."""
    return np.cumsum(a[::-1], axis=0)[::-1]


class _RankCounts:
    """One class's weighted positives and negatives per score tie group (ascending)."""

    def __init__(self, counts: np.ndarray, total: int) -> None:
        half = len(counts) // 2
        self.pos, self.neg = counts[:half], counts[half:]
        self.n_pos = _column_sums(self.pos)
        self.n_neg = total - self.n_pos

    @cached_property
    def pos_at_or_above(self) -> np.ndarray:
        return _tail_sums(self.pos)

    @cached_property
    def neg_at_or_above(self) -> np.ndarray:
        return _tail_sums(self.neg)

    def defined(self, values: np.ndarray) -> np.ndarray:
        """nan where the resample lacks positives or negatives of the class."""
        return np.where((self.n_pos > 0) & (self.n_neg > 0), values, math.nan)


# --- fast metrics: each maps the sums of a chunk to one value per resample -------------------


def _divide(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """num / den, with `fill` where den is 0."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), den)
    return np.divide(num, den, out=np.full(num.shape, fill), where=den != 0)


def _class_counts(s: _Sums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class and resample: hits, rows truly of the class, rows predicted as it."""
    k = s.rows.n_classes
    c = s["classes"]
    return c[2 * k :], c[:k], c[k : 2 * k]


def _accuracy(s: _Sums) -> np.ndarray:
    return _class_counts(s)[0].sum(axis=0) / s.total


def _balanced_accuracy(s: _Sums) -> np.ndarray:
    hits, true, _ = _class_counts(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(_divide(hits, true, math.nan), axis=0)


def _prf(s: _Sums, kind: str) -> np.ndarray:
    """Precision, recall or F1 as in metrics._prf: positive class, or macro over classes seen."""
    hits, true, pred = _class_counts(s)
    num, den = {"precision": (hits, pred), "recall": (hits, true), "f1": (2 * hits, true + pred)}[
        kind
    ]
    if s.rows.positive >= 0:
        return _divide(num[s.rows.positive], den[s.rows.positive], 0.0)
    seen = (true + pred) > 0
    return (_divide(num, den, 0.0) * seen).sum(axis=0) / seen.sum(axis=0)


def _mcc(s: _Sums) -> np.ndarray:
    """Matthews correlation from the confusion matrix margins, as sklearn computes it."""
    hits, true, pred = _class_counts(s)
    n = float(s.total)
    cov_tp = hits.sum(axis=0) * n - (true * pred).sum(axis=0)
    cov_pp = n**2 - (pred**2).sum(axis=0)
    cov_tt = n**2 - (true**2).sum(axis=0)
    return _divide(cov_tp, np.sqrt(cov_pp * cov_tt), 0.0)


def _mean_of(block: str, column: int, s: _Sums) -> np.ndarray:
    return s[block][column] / s.total


def _roc_auc(s: _Sums) -> np.ndarray:
    """Mann-Whitney: P(a positive scores above a negative), ties counting one half."""
    values = []
    for r in s.ranked:
        # pairs a positive does not win: negatives above it, and half of those tied with it
        losses = np.einsum("ij,ij->j", r.pos, r.neg_at_or_above - 0.5 * r.neg)
        pairs = r.n_pos * r.n_neg
        values.append(r.defined(_divide(pairs - losses, pairs, math.nan)))
    return np.mean(values, axis=0)


def _pr_auc(s: _Sums) -> np.ndarray:
    """Average precision: precision at each tie group's threshold, weighted by its positives."""
    values = []
    for r in s.ranked:
        pos_above, neg_above = r.pos_at_or_above, r.neg_at_or_above
        precision = _divide(pos_above, pos_above + neg_above, 0.0)
        ap = _divide(np.einsum("ij,ij->j", r.pos, precision), r.n_pos, math.nan)
        values.append(r.defined(ap))
    return np.mean(values, axis=0)


def _rmse(s: _Sums) -> np.ndarray:
    return np.sqrt(_mean_of("residuals", 0, s))


def _r2(s: _Sums) -> np.ndarray:
    """1 - SSres/SStot; a constant target scores 1 if predicted exactly, else 0 (as metrics.r2).

    SStot is summed around each resample's mean from the counts, not taken from moments,
    which cancel catastrophically on resamples of nearly constant targets.
    """
    y, counts, ss_res = s.rows.y, s.counts, s["residuals"][0]
    deviation = y[:, None] - (y @ counts) / s.total
    ss_tot = np.einsum("ij,ij,ij->j", counts, deviation, deviation)
    # a constant resample leaves only the rounding of its mean; check those exactly
    constant = ss_tot <= s.total * (1e-8 * np.abs(y).max()) ** 2
    for j in np.flatnonzero(constant):
        drawn = y[counts[:, j] > 0]
        constant[j] = drawn.min() == drawn.max()
    r2 = np.where(constant, (ss_res == 0).astype(float), 1 - _divide(ss_res, ss_tot, 1.0))
    return r2 if s.total >= 2 else np.full_like(r2, math.nan)


def _median_ae(s: _Sums) -> np.ndarray:
    """Weighted median of the absolute errors: the middle rank(s) of each resample."""
    ordered = s.rows.abs_error[s.rows.abs_error_order]
    low, high = _order_positions(s["abs_order"], ((s.total - 1) // 2, s.total // 2), s.total)
    return (ordered[low] + ordered[high]) / 2


def _order_positions(counts: np.ndarray, ranks: tuple[int, ...], total: int) -> list[np.ndarray]:
    """Per resample, the sorted position holding each 0-based rank of its drawn rows.

    A running count over all n positions is the slow part, so it runs over a window
    around where the ranks fall in expectation (10 standard deviations wide); resamples
    whose ranks fall outside (practically never) are counted in full.
    """
    n = len(counts)
    spread = 10 * n / math.sqrt(total) + 2
    lo = max(0, int(n * min(ranks) / total - spread))
    hi = min(n, int(n * (max(ranks) + 1) / total + spread) + 1)
    running = _column_sums(counts[:lo]) + np.cumsum(counts[lo:hi], axis=0)
    outside = (running[0] - counts[lo] > min(ranks)) | (running[-1] <= max(ranks))
    if outside.any():
        running = np.cumsum(counts, axis=0)
        lo = 0
    return [lo + (running <= rank).sum(axis=0) for rank in ranks]


@dataclass(frozen=True)
class _Fast:
    blocks: tuple[str, ...]  # "rank" stands for one rank block per ranked class
    compute: Callable[[_Sums], np.ndarray]


_FAST: dict[Callable[..., float], _Fast] = {
    builtin.accuracy: _Fast(("classes",), _accuracy),
    builtin.balanced_accuracy: _Fast(("classes",), _balanced_accuracy),
    builtin.precision: _Fast(("classes",), partial(_prf, kind="precision")),
    builtin.recall: _Fast(("classes",), partial(_prf, kind="recall")),
    builtin.f1: _Fast(("classes",), partial(_prf, kind="f1")),
    builtin.mcc: _Fast(("classes",), _mcc),
    builtin.log_loss: _Fast(("log_loss",), partial(_mean_of, "log_loss", 0)),
    builtin.brier: _Fast(("brier",), partial(_mean_of, "brier", 0)),
    builtin.roc_auc: _Fast(("rank",), _roc_auc),
    builtin.pr_auc: _Fast(("rank",), _pr_auc),
    builtin.rmse: _Fast(("residuals",), _rmse),
    builtin.mae: _Fast(("residuals",), partial(_mean_of, "residuals", 1)),
    builtin.mape: _Fast(("residuals",), partial(_mean_of, "residuals", 2)),
    builtin.r2: _Fast(("residuals",), _r2),
    builtin.median_ae: _Fast(("abs_order",), _median_ae),
}


# --- public API --------------------------------------------------------------------------------


def _metric_for(name: str, task: str) -> registry.Component:
    """The registered metric, if it applies to the task."""
    component = registry.get("metric", name)
    tasks = component.meta.get("tasks")
    if tasks is not None and task not in tasks:
        applicable = [
            other
            for other in registry.REGISTRY.names("metric")
            if task in (registry.get("metric", other).meta.get("tasks") or (task,))
        ]
        raise MlconfError(
            f"metric '{name}' does not apply to {task} (it is for {', '.join(tasks)}). "
            f"Metrics for {task}: {', '.join(applicable)}",
            fix=f"remove '{name}' from the {task} metrics or pick one of those",
        )
    return component


def _check_settings(task: str, bootstrap: int, confidence: float, max_rows: int) -> None:
    if task not in TASKS:
        raise MlconfError(
            f"unknown task '{task}'.{did_you_mean(task, TASKS)}",
            where="problem.task",
            fix=f"use one of: {', '.join(TASKS)}",
        )
    if bootstrap < 0:
        raise MlconfError(f"bootstrap must be >= 0, got {bootstrap}", where="metrics.bootstrap")
    if not 0 < confidence < 1:
        raise MlconfError(
            f"confidence must be between 0 and 1, got {confidence}",
            where="metrics.confidence",
            fix="use e.g. 0.95",
        )
    if max_rows < 1:
        raise MlconfError(
            f"max_bootstrap_rows must be >= 1, got {max_rows}", where="metrics.max_bootstrap_rows"
        )


def _resample_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each row is drawn in each resample: (rows x resamples) from (resamples x m)."""
    counts = np.empty((n, len(idx)))
    for j, drawn in enumerate(idx):  # one bincount per resample stays in cache
        counts[:, j] = np.bincount(drawn, minlength=n)
    return counts


def _interval(
    value: float, draws: np.ndarray, confidence: float, shrink: float
) -> tuple[float | None, float | None]:
    """Percentile interval of the finite draws, its deviations from `value` scaled by `shrink`.

    Reported as computed: the percentile interval keeps a bounded metric in its range and
    covers about `confidence` of the time on samples of a few hundred rows (tested against
    known distributions in tests/test_evaluation.py), but on a skewed or degenerate bootstrap
    distribution (few rows, a metric at its bound) it may lie beside the estimate or shrink
    to a point; `success_verdict` says so rather than widening it.
    """
    finite = draws[np.isfinite(draws)]
    if not math.isfinite(value) or finite.size == 0:
        return None, None
    tail = (1 - confidence) / 2
    q_low, q_high = np.quantile(finite, [tail, 1 - tail])
    return value + (float(q_low) - value) * shrink, value + (float(q_high) - value) * shrink


def score(
    names: list[str],
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    *,
    labels: Sequence[Any] | None,
    positive_class: Any,
    task: str,
    bootstrap: int = 200,
    confidence: float = 0.95,
    max_rows: int = 100_000,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """Point estimates and percentile-bootstrap confidence intervals of the named metrics.

    Every metric sees the same resamples (rows drawn with replacement, numpy Generator
    seeded with `seed`), so intervals are reproducible and comparable. Resamples on
    which a metric is undefined (nan, e.g. roc_auc with one class) are left out of its
    interval. A proba metric without `y_proba` is skipped with value nan.

    When n > max_rows this is an m-out-of-n bootstrap: each resample draws m = max_rows
    rows, and the interval's deviations from the point estimate are scaled by
    sqrt(m / n), since a metric's spread shrinks like 1/sqrt(rows). This bounds the
    cost on big test sets at the price of a slightly rougher interval.

    `labels` lists all classes in the column order of `y_proba` (default: sorted classes
    seen); `positive_class` is the scored class of a binary problem (default: the last).
    """
    _check_settings(task, bootstrap, confidence, max_rows)
    components = {name: _metric_for(name, task) for name in names}
    rows = _Rows(y_true, y_pred, y_proba, labels=labels, positive_class=positive_class, task=task)
    usable = {
        name: c
        for name, c in components.items()
        if c.meta.get("needs") != "proba" or rows.proba is not None
    }
    fast = {name: _FAST[c.factory] for name, c in usable.items() if c.factory in _FAST}
    slow = {name: c for name, c in usable.items() if name not in fast}
    design = _Design(rows, fast.values()) if fast else None

    values = {name: math.nan for name in components}
    if design is not None:
        sums = design.sums(np.ones((rows.n, 1)), rows.n)
        values.update({name: float(f.compute(sums)[0]) for name, f in fast.items()})
    for name, component in slow.items():
        values[name] = _call_checked(name, component, rows)

    m = min(rows.n, max_rows)
    draws = _draws(rows, design, fast, slow, bootstrap=bootstrap, m=m, seed=seed)
    out = {}
    for name, value in values.items():
        low, high = (None, None)
        if name in draws:
            low, high = _interval(value, draws[name], confidence, math.sqrt(m / rows.n))
        out[name] = MetricValue(value, low, high)
    return out


def _draws(
    rows: _Rows,
    design: _Design | None,
    fast: dict[str, _Fast],
    slow: dict[str, registry.Component],
    *,
    bootstrap: int,
    m: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Each metric's value on `bootstrap` resamples of m rows, drawn a chunk at a time."""
    draws = {name: np.full(bootstrap, math.nan) for name in [*fast, *slow]}
    chunk = max(1, _CHUNK_CELLS // max(rows.n, design.width if design else 0))
    rng = np.random.default_rng(seed)
    for start in range(0, bootstrap, chunk):
        idx = rng.integers(0, rows.n, size=(min(chunk, bootstrap - start), m))
        done = slice(start, start + len(idx))
        if design is not None:
            sums = design.sums(_resample_counts(idx, rows.n), m)
            for name, f in fast.items():
                draws[name][done] = f.compute(sums)
        for name, component in slow.items():
            draws[name][done] = [_call_quietly(component, rows, i) for i in idx]
    return draws if bootstrap else {}


def _call_checked(name: str, component: registry.Component, rows: _Rows) -> float:
    """The point estimate of a metric without a fast path; its failure is a config-level error."""
    try:
        return rows.call(component)
    except MlconfError:
        raise
    except Exception as exc:
        raise MlconfError(
            f"metric '{name}' ({component.origin}) failed: {type(exc).__name__}: {exc}",
            fix="fix the metric function, or remove it from the metrics list",
        ) from exc


def _call_quietly(component: registry.Component, rows: _Rows, idx: np.ndarray) -> float:
    """A metric on one resample; its warnings were already shown once, undefined gives nan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return rows.call(component, idx)
        except _UNDEFINED:
            return math.nan


def success_verdict(
    criteria: Mapping[str, Mapping[str, float | None]],
    scores: dict[str, MetricValue],
    confidence: float | None = None,
) -> list[dict[str, Any]]:
    """Judge each success criterion {min, max} on the point estimate and on the whole interval.

    `passed`: the point estimate meets it. `confident`: the estimate and the whole confidence
    interval do, and the interval has a width, so the result is unlikely to be luck of the
    test split (None without an interval). An interval that is a single point (every
    resample scored the same) cannot measure the uncertainty, so it never confirms.
    `statement`: the verdict in one sentence, with the interval at `confidence` as computed
    and what it means when it lies beside the estimate or is a single point.
    Values are JSON-safe as in MetricValue.to_dict, since verdicts go into metrics.json.
    """
    verdicts = []
    for metric, bounds in criteria.items():
        if metric not in scores:
            computed = sorted(scores)
            raise MlconfError(
                f"success criterion '{metric}' names a metric that was not computed."
                f"{did_you_mean(metric, computed)} Computed metrics: {', '.join(computed)}",
                where=f"problem.success_criteria.{metric}",
                fix=f"add '{metric}' to the metrics of the task, or correct the name",
            )
        lo, hi = bounds.get("min"), bounds.get("max")
        mv = scores[metric]
        meets = partial(_meets, lo=lo, hi=hi)
        has_interval = mv.low is not None and mv.high is not None
        point = has_interval and mv.low == mv.high
        verdict = {
            "metric": metric,
            "min": lo,
            "max": hi,
            **mv.to_dict(),
            "passed": meets(mv.value),
            "confident": (
                meets(mv.value) and meets(mv.low) and meets(mv.high) and not point
                if has_interval
                else None
            ),
        }
        verdict["statement"] = _statement(
            verdict, confidence, reaches=meets(mv.low) or meets(mv.high)
        )
        verdicts.append(verdict)
    return verdicts


def _statement(verdict: dict[str, Any], confidence: float | None, *, reaches: bool) -> str:
    """'<metric> <bounds>: met|NOT met ...' with the estimate and its interval, in words."""
    bound = " and ".join(
        f"{op} {verdict[key]:g}"
        for key, op in (("min", ">="), ("max", "<="))
        if verdict[key] is not None
    )
    head = f"{verdict['metric']} {bound}".rstrip()
    value = verdict["value"]
    if value is None:
        return f"{head}: NOT met, the metric could not be computed on test"
    if verdict["confident"] is None:
        interval = f"{value:.4g} (no interval computed)"
        return f"{head}: {'met' if verdict['passed'] else 'NOT met'}, {interval}"
    low, high = verdict["low"], verdict["high"]
    level = "" if confidence is None else f"{confidence:.0%} "
    interval = f"{value:.4g} ({level}interval {low:.4g} .. {high:.4g}){_caveat(value, low, high)}"
    if verdict["confident"]:
        return f"{head}: met, {interval}, and the whole interval meets it"
    if verdict["passed"] and low == high:
        return f"{head}: met on the estimate {interval}, so the test part cannot confirm it"
    if verdict["passed"]:
        return (
            f"{head}: met on the estimate {interval}, but the interval crosses the bound, "
            "so the test part cannot confirm it"
        )
    if reaches:
        return f"{head}: NOT met, {interval}, though the interval reaches the bound"
    return f"{head}: NOT met, {interval}"


def _caveat(value: float, low: float, high: float) -> str:
    """What an interval that is a single point, or lies beside its estimate, means."""
    if low == high:
        return (
            "; the interval is a single point: every resample scored the same, so the "
            "bootstrap cannot measure the uncertainty (too few rows, or a metric at its bound)"
        )
    if not low <= value <= high:
        return (
            "; the estimate lies outside its interval: the resamples' scores are skewed "
            "(few rows, or a metric near its bound), so read the interval with care"
        )
    return ""


def mean_with_interval(
    values: Any,
    *,
    bootstrap: int = 200,
    confidence: float = 0.95,
    max_rows: int = 100_000,
    seed: int = 0,
) -> MetricValue:
    """The mean of per-row values (e.g. each row's cost) with a bootstrap interval, drawn
    the way `score` draws (m-out-of-n above max_rows, the interval rescaled to n rows)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise MlconfError("there are no rows to average", fix="check the test split")
    value = float(x.mean())
    if bootstrap == 0:
        return MetricValue(value)
    m = min(len(x), max_rows)
    rng = np.random.default_rng(seed)
    draws = np.array([x[rng.integers(0, len(x), size=m)].mean() for _ in range(bootstrap)])
    low, high = _interval(value, draws, confidence, math.sqrt(m / len(x)))
    return MetricValue(value, low, high)


def _meets(x: float | None, *, lo: float | None, hi: float | None) -> bool:
    """x is a finite number within [lo, hi] (a None bound is open)."""
    return (
        x is not None and math.isfinite(x) and (lo is None or x >= lo) and (hi is None or x <= hi)
    )
