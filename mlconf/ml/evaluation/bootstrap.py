"""Metric sets with bootstrap confidence intervals, fast enough for large test sets.

A resample with replacement is a vector of row counts. Every built-in metric has a
kernel on count-weighted sums of a few per-row columns (mlconf.components.metrics.design), so
one sparse matrix product scores a whole chunk of resamples at once. Other metrics,
including users', are called on the resampled rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from mlconf.components.metrics.design import Design
from mlconf.components.metrics.fast import Fast, fast_path
from mlconf.components.metrics.rows import Rows
from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.ml.evaluation.value import MetricValue

TASKS = ("classification", "regression")
# Cells of (design columns x resamples) scored per chunk: bounds memory to a few tens of MB.
_CHUNK_CELLS = 1 << 22
# Exceptions that mean "undefined on this resample" rather than "the metric is broken".
_UNDEFINED = (ValueError, ZeroDivisionError, FloatingPointError)


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


def resamples(
    n: int, *, bootstrap: int, m: int, seed: int, width: int = 0
) -> Iterator[tuple[slice, np.ndarray]]:
    """Row indices of `bootstrap` resamples of m rows out of n, a chunk (resamples x m) at a
    time with its slice of the resamples: every caller with the same seed draws the same rows.

    `width` is the number of per-row columns the caller scores, which bounds the chunk.
    """
    chunk = max(1, _CHUNK_CELLS // max(n, width))
    rng = np.random.default_rng(seed)
    for start in range(0, bootstrap, chunk):
        idx = rng.integers(0, n, size=(min(chunk, bootstrap - start), m))
        yield slice(start, start + len(idx)), idx


def resample_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each row is drawn in each resample: (rows x resamples) from (resamples x m)."""
    counts = np.empty((n, len(idx)))
    for j, drawn in enumerate(idx):  # one bincount per resample stays in cache
        counts[:, j] = np.bincount(drawn, minlength=n)
    return counts


def percentile_interval(
    value: float, draws: np.ndarray, confidence: float, shrink: float
) -> tuple[float | None, float | None]:
    """Percentile interval of the finite draws, its deviations from `value` scaled by `shrink`.

    Reported as computed: the percentile interval keeps a bounded metric in its range and
    covers about `confidence` of the time on samples of a few hundred rows (tested against
    known distributions in tests/test_evaluation_bootstrap.py), but on a skewed or
    degenerate bootstrap distribution (few rows, a metric at its bound) it may lie beside
    the estimate or shrink to a point; `success_verdict` says so rather than widening it.
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
    rows = Rows(y_true, y_pred, y_proba, labels=labels, positive_class=positive_class, task=task)
    usable = {
        name: c
        for name, c in components.items()
        if c.meta.get("needs") != "proba" or rows.proba is not None
    }
    kernels = {name: fast_path(c.factory) for name, c in usable.items()}
    fast = {name: f for name, f in kernels.items() if f is not None}
    slow = {name: c for name, c in usable.items() if name not in fast}
    design = Design(rows, [b for f in fast.values() for b in f.blocks]) if fast else None

    values = {name: math.nan for name in components}
    if design is not None:
        sums = design.all_rows()
        values.update({name: float(f.compute(sums)[0]) for name, f in fast.items()})
    for name, component in slow.items():
        values[name] = _call_checked(name, component, rows)

    m = min(rows.n, max_rows)
    draws = _draws(rows, design, fast, slow, bootstrap=bootstrap, m=m, seed=seed)
    out = {}
    for name, value in values.items():
        low, high = (None, None)
        if name in draws:
            low, high = percentile_interval(value, draws[name], confidence, math.sqrt(m / rows.n))
        out[name] = MetricValue(value, low, high)
    return out


def _draws(
    rows: Rows,
    design: Design | None,
    fast: dict[str, Fast],
    slow: dict[str, registry.Component],
    *,
    bootstrap: int,
    m: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Each metric's value on `bootstrap` resamples of m rows, drawn a chunk at a time."""
    draws = {name: np.full(bootstrap, math.nan) for name in [*fast, *slow]}
    width = design.width if design else 0
    for done, idx in resamples(rows.n, bootstrap=bootstrap, m=m, seed=seed, width=width):
        if design is not None:
            sums = design.sums(resample_counts(idx, rows.n), m)
            for name, f in fast.items():
                draws[name][done] = f.compute(sums)
        for name, component in slow.items():
            draws[name][done] = [_call_quietly(component, rows, i) for i in idx]
    return draws if bootstrap else {}


def _call_checked(name: str, component: registry.Component, rows: Rows) -> float:
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


def _call_quietly(component: registry.Component, rows: Rows, idx: np.ndarray) -> float:
    """A metric on one resample; its warnings were already shown once, undefined gives nan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return rows.call(component, idx)
        except _UNDEFINED:
            return math.nan


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
    low, high = percentile_interval(value, draws, confidence, math.sqrt(m / len(x)))
    return MetricValue(value, low, high)
