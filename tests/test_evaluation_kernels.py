"""The metric kernels: equal to sklearn.metrics on random inputs, and one draw of every row
through the bootstrap's design matrix is exactly the single value the metric functions give."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import CLASSIFICATION, REGRESSION
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from mlconf.components.metrics.design import Design
from mlconf.components.metrics.fast import KERNELS
from mlconf.components.metrics.kernels import order_positions
from mlconf.components.metrics.rows import Rows
from mlconf.core import component_registry as registry
from mlconf.ml.evaluation import score

LABEL_METRICS = ["accuracy", "balanced_accuracy", "f1", "precision", "recall", "mcc"]
RANKING_METRICS = ["roc_auc", "pr_auc", "log_loss", "brier"]


@st.composite
def classified(draw: st.DrawFn) -> dict[str, Any]:
    """Random labels, predictions and probabilities (rounded, so scores tie) of 2-4 classes."""
    k = draw(st.integers(2, 4))
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d"][:k]
    truth = rng.integers(0, draw(st.integers(1, k)), n)  # sometimes fewer classes present
    raw = np.round(rng.random((n, k)) + np.eye(k)[truth] * draw(st.floats(0, 2)), 1) + 0.01
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), proba.argmax(axis=1))
    classes = np.array(labels, dtype=object)
    positive = draw(st.sampled_from(labels)) if k == 2 else None
    return {"y_true": classes[truth], "y_pred": classes[pred], "y_proba": proba,
            "labels": labels, "positive_class": positive}  # fmt: skip


def registered(name: str, d: dict[str, Any]) -> float:
    """The registered metric function, which computes through the kernel."""
    fn = registry.get("metric", name).factory
    return float(fn(d["y_true"], d["y_pred"], d["y_proba"], labels=d["labels"],
                    positive_class=d["positive_class"]))  # fmt: skip


def sklearn_labels(name: str, d: dict[str, Any]) -> float:
    t, p = d["y_true"], d["y_pred"]
    binary = len(d["labels"]) == 2
    kw: dict[str, Any] = (
        {"pos_label": d["positive_class"] or d["labels"][-1], "average": "binary"}
        if binary
        else {"average": "macro"}
    )
    ref: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(t, p),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(t, p),
        "f1": lambda: skm.f1_score(t, p, zero_division=0.0, **kw),
        "precision": lambda: skm.precision_score(t, p, zero_division=0.0, **kw),
        "recall": lambda: skm.recall_score(t, p, zero_division=0.0, **kw),
        "mcc": lambda: skm.matthews_corrcoef(t, p),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(ref[name]())


def sklearn_ranking(name: str, d: dict[str, Any]) -> float:
    t, proba, labels = d["y_true"], d["y_proba"], d["labels"]
    scored = [d["positive_class"] or labels[-1]] if len(labels) == 2 else labels
    if name in ("roc_auc", "pr_auc"):
        if any((t == c).all() or not (t == c).any() for c in scored):
            return math.nan
        if len(labels) == 2:
            score_fn = skm.roc_auc_score if name == "roc_auc" else skm.average_precision_score
            return float(score_fn(t == scored[0], proba[:, labels.index(scored[0])]))
        if name == "roc_auc":
            return float(skm.roc_auc_score(t, proba, multi_class="ovr", labels=labels))
        return float(skm.average_precision_score(label_binarize(t, classes=labels), proba))
    if name == "log_loss":
        return float(skm.log_loss(t, proba, labels=labels))
    if len(labels) == 2:
        pos = scored[0]
        return float(skm.brier_score_loss(t == pos, proba[:, labels.index(pos)]))
    total = skm.brier_score_loss(t, proba, labels=labels, scale_by_half=False)
    return float(total) / len(labels)


@settings(max_examples=60, deadline=None)
@given(d=classified())
def test_label_kernels_equal_sklearn(d: dict[str, Any]) -> None:
    for name in LABEL_METRICS:
        assert registered(name, d) == pytest.approx(sklearn_labels(name, d), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(d=classified())
def test_probability_kernels_equal_sklearn(d: dict[str, Any]) -> None:
    for name in RANKING_METRICS:
        expected = sklearn_ranking(name, d)
        got = registered(name, d)
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(
            expected, rel=1e-9, abs=1e-12
        ), name


SKLEARN_REGRESSION: dict[str, Callable[[Any, Any], float]] = {
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
    "mape": skm.mean_absolute_percentage_error,
    "median_ae": skm.median_absolute_error,
}
FLOATS = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(FLOATS, FLOATS), min_size=2, max_size=60))
def test_regression_kernels_equal_sklearn(pairs: list[tuple[float, float]]) -> None:
    y, y_hat = (np.array(col) for col in zip(*pairs, strict=True))
    assume(np.ptp(y) > 1e-3)  # r2 of a constant target is ours by design (see test_metrics)
    for name, reference in SKLEARN_REGRESSION.items():
        fn = registry.get("metric", name).factory
        got = fn(y, y_hat, None, labels=None, positive_class=None)
        assert got == pytest.approx(reference(y, y_hat), rel=1e-9, abs=1e-9), name


def _one_draw_and_a_resample(rows: Rows, names: list[str], seed: int) -> None:
    """Column 0: every row once (no resampling) is the single value; column 1, a resample,
    is the metric function on the resampled rows."""
    design = Design(rows, [b for name in names for b in KERNELS[name].blocks])
    drawn = np.random.default_rng(seed).integers(0, rows.n, rows.n)
    counts = np.column_stack([np.ones(rows.n), np.bincount(drawn, minlength=rows.n)])
    sums = design.sums(counts, rows.n)
    labels, positive = rows.labels, rows.positive_class
    for name in names:
        fn = registry.get("metric", name).factory
        together = KERNELS[name].compute(sums)
        proba = None if rows.proba is None else rows.proba
        single = fn(rows.y_true, rows.y_pred, proba, labels=labels, positive_class=positive)
        # the same arithmetic; only BLAS may sum a matrix of two columns in another order
        assert together[0] == pytest.approx(single, rel=1e-12, abs=1e-12, nan_ok=True), name
        resampled = fn(rows.y_true[drawn], rows.y_pred[drawn],
                       None if proba is None else proba[drawn],
                       labels=labels, positive_class=positive)  # fmt: skip
        assert together[1] == pytest.approx(resampled, rel=1e-9, nan_ok=True), name


@settings(max_examples=30, deadline=None)
@given(d=classified(), seed=st.integers(0, 2**32 - 1))
def test_a_draw_of_every_row_is_the_single_value_classification(
    d: dict[str, Any], seed: int
) -> None:
    rows = Rows(d["y_true"], d["y_pred"], d["y_proba"], labels=d["labels"],
                positive_class=d["positive_class"], task="classification")  # fmt: skip
    _one_draw_and_a_resample(rows, CLASSIFICATION, seed)
    values = score(CLASSIFICATION, **d, task="classification", bootstrap=0)
    for name in CLASSIFICATION:
        assert values[name].value == pytest.approx(registered(name, d), nan_ok=True, rel=0)


@settings(max_examples=30, deadline=None)
@given(pairs=st.lists(st.tuples(FLOATS, FLOATS), min_size=1, max_size=60), seed=st.integers(0))
def test_a_draw_of_every_row_is_the_single_value_regression(
    pairs: list[tuple[float, float]], seed: int
) -> None:
    y, y_hat = (np.array(col) for col in zip(*pairs, strict=True))
    rows = Rows(y, y_hat, None, labels=None, positive_class=None, task="regression")
    _one_draw_and_a_resample(rows, REGRESSION, seed)


def test_order_statistics_of_resamples_far_from_the_expected_ranks() -> None:
    """The median's windowed running count falls back to a full count when it must."""
    rng = np.random.default_rng(0)
    n, m = 10_000, 5_000
    counts = np.column_stack(
        [
            np.bincount(rng.integers(0, n, m), minlength=n),
            np.bincount(rng.integers(0, 50, m), minlength=n),  # all drawn among the lowest
            np.bincount(rng.integers(n - 50, n, m), minlength=n),  # all among the highest
        ]
    ).astype(float)
    ranks = ((m - 1) // 2, m // 2)
    expected = [(np.cumsum(counts, axis=0) <= r).sum(axis=0) for r in ranks]
    got = order_positions(counts, ranks, m)
    assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))
    assert np.array_equal(order_positions(counts[:, :1], ranks, m), [e[:1] for e in expected])
