"""Whether a model earned its place: it must beat the dummy baseline that ignores the
features, on the primary metric and, where the problem gives costs, on expected cost.

A model no better than guessing the majority (or the mean) is not a candidate, whatever its
success criteria say: at 3% positives a model can post a fine accuracy and still lose to
the baseline."""

from __future__ import annotations

import math
from typing import Any

PART = "test"  # the part every reported number comes from; nothing is chosen on it here


def baseline_shortfalls(metrics: dict[str, Any], greater_is_better: bool) -> list[str]:
    """Why the model does not beat the baseline (empty when it does, or cannot be told)."""
    reasons = []
    primary = metrics.get("primary_metric")
    scores = metrics.get(PART) or {}
    model = _value(scores.get("model", {}).get(primary))
    baseline = _value(scores.get("baseline", {}).get(primary))
    if model is not None and baseline is not None:
        beaten = model > baseline if greater_is_better else model < baseline
        if not beaten:
            reasons.append(
                f"{primary} {model:.4g} does not beat the dummy baseline's {baseline:.4g} "
                f"on the {PART} part"
            )
    costs = (metrics.get("expected_cost") or {}).get(PART) or {}
    model_cost = _value(costs.get("model"))
    baseline_cost = _value(costs.get("baseline"))
    if model_cost is not None and baseline_cost is not None and not model_cost < baseline_cost:
        reasons.append(
            f"expected cost per row {model_cost:.4g} is not below the dummy baseline's "
            f"{baseline_cost:.4g} on the {PART} part"
        )
    return reasons


def _value(entry: Any) -> float | None:
    value = entry.get("value") if isinstance(entry, dict) else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)
