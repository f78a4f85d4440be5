"""Success criteria judged on a metric's estimate and on its whole confidence interval."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.ml.evaluation.value import MetricValue


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
    caveat = interval_caveat(value, low, high)
    interval = f"{value:.4g} ({level}interval {low:.4g} .. {high:.4g}){caveat}"
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


def interval_caveat(value: float, low: float, high: float) -> str:
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


def _meets(x: float | None, *, lo: float | None, hi: float | None) -> bool:
    """x is a finite number within [lo, hi] (a None bound is open)."""
    return (
        x is not None and math.isfinite(x) and (lo is None or x >= lo) and (hi is None or x <= hi)
    )
