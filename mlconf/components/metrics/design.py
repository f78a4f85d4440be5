"""The design matrix: per-row columns whose count-weighted sums feed the metric kernels.

A draw of rows (one evaluation, or a bootstrap resample with replacement) is a vector of
row counts, so one sparse matrix product gives every draw of a chunk the sums the
kernels need, where calling sklearn on 200 resampled copies of a large test set would
take minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

import numpy as np
from scipy import sparse

from mlconf.components.metrics.kernels import Confusion, RankCounts
from mlconf.components.metrics.rows import Rows

# A block: (row of each entry, column of each entry within the block, value, block width).
Block = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def _dense_block(values: np.ndarray) -> Block:
    """Columns of per-row values (n x k) as a block."""
    n, k = values.shape
    return np.repeat(np.arange(n), k), np.tile(np.arange(k), n), values.ravel(), k


def _classes_block(rows: Rows) -> Block:
    """Indicators of the true class, the predicted class, and the true class of hits."""
    k, r = rows.n_classes, np.arange(rows.n)
    hit = rows.true == rows.pred
    row = np.concatenate([r, r, r[hit]])
    col = np.concatenate([rows.true, k + rows.pred, 2 * k + rows.true[hit]])
    return row, col, np.ones(len(row)), 3 * k


def _proba(rows: Rows) -> np.ndarray:
    if rows.proba is None:
        raise RuntimeError("internal error: expected rows.proba is not None")
    return rows.proba


def _log_loss_block(rows: Rows) -> Block:
    """Per-row log loss, clipped as sklearn does."""
    proba = _proba(rows)
    eps = np.finfo(proba.dtype).eps
    p = np.clip(proba[np.arange(rows.n), rows.true], eps, 1 - eps)
    return _dense_block(-np.log(p)[:, None])


def _brier_block(rows: Rows) -> Block:
    """Per-row squared error of the positive class (binary) or mean over classes (multiclass)."""
    proba = _proba(rows)
    onehot = np.eye(rows.n_classes)[rows.true]
    if rows.positive >= 0:
        sq = (onehot[:, rows.positive] - proba[:, rows.positive]) ** 2
    else:
        sq = ((onehot - proba) ** 2).mean(axis=1)
    return _dense_block(sq[:, None])


def _rank_block(rows: Rows, k: int) -> Block:
    """Indicators of (tie group of class k's score, is class k): positives, then negatives.

    Groups are numbered by ascending score, so the weighted counts per group give the
    ROC and precision-recall curves of any draw without sorting it. Runs of groups
    without positives are merged: only how many negatives lie between positives matters.
    """
    scores = _proba(rows)[:, k]
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


def _residuals_block(rows: Rows) -> Block:
    """Squared, absolute and relative (as sklearn's mape) errors."""
    relative = rows.abs_error / np.maximum(np.abs(rows.y), np.finfo(np.float64).eps)
    return _dense_block(np.column_stack([rows.abs_error**2, rows.abs_error, relative]))


def _abs_order_block(rows: Rows) -> Block:
    """Each row's position in ascending order of absolute error, for the weighted median."""
    position = np.empty(rows.n, dtype=np.intp)
    position[rows.abs_error_order] = np.arange(rows.n)
    return np.arange(rows.n), position, np.ones(rows.n), rows.n


_BLOCKS: dict[str, Callable[[Rows], Block]] = {
    "classes": _classes_block,
    "log_loss": _log_loss_block,
    "brier": _brier_block,
    "residuals": _residuals_block,
    "abs_order": _abs_order_block,
}


class Design:
    """The sparse (columns x rows) matrix of the named blocks.

    "rank" stands for one rank block per ranked class.
    """

    def __init__(self, rows: Rows, blocks: Iterable[str]) -> None:
        self.rows = rows
        self.layout: dict[str, slice] = {}
        entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        width = 0
        names = list(blocks)
        if "rank" in names:
            names = [b for b in names if b != "rank"]
            names += [f"rank:{k}" for k in rows.ranked_classes]
        for name in dict.fromkeys(names):
            kind, _, arg = name.partition(":")
            row, col, value, w = _rank_block(rows, int(arg)) if arg else _BLOCKS[kind](rows)
            entries.append((row, col + width, value))
            self.layout[name] = slice(width, width + w)
            width += w
        self.width = width
        row, col, value = (np.concatenate(part) for part in zip(*entries, strict=True))
        self.matrix = sparse.csr_matrix((value, (col, row)), shape=(width, rows.n))

    def sums(self, counts: np.ndarray, total: int) -> Sums:
        """Weighted column sums for each column of `counts` (rows x draws)."""
        return Sums(self, counts, total)

    def all_rows(self) -> Sums:
        """The sums of one draw of every row: a single evaluation."""
        return Sums(self, np.ones((self.rows.n, 1)), self.rows.n)


class Sums:
    """Per-draw sums of each block, shaped (block width, draws); `counts` are the draws
    themselves (rows x draws) and `total` their number of rows."""

    def __init__(self, design: Design, counts: np.ndarray, total: int) -> None:
        self.rows = design.rows
        self.counts = counts
        self.total = total
        self._design = design
        self._product = np.asarray(design.matrix @ counts)

    def __getitem__(self, block: str) -> np.ndarray:
        return self._product[self._design.layout[block]]

    @cached_property
    def confusion(self) -> Confusion:
        """The confusion margins per draw, shared by every metric of labels."""
        k = self.rows.n_classes
        c = self["classes"]
        return Confusion(c[2 * k :], c[:k], c[k : 2 * k], self.total, self.rows.positive)

    @cached_property
    def ranked(self) -> list[RankCounts]:
        """Tie-group counts per ranked class, shared by roc_auc and pr_auc."""
        return [RankCounts(self[f"rank:{k}"], self.total) for k in self.rows.ranked_classes]
