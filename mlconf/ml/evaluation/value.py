"""A metric's estimate with its interval, as metrics.json and the verdicts report it."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class MetricValue:
    """A metric's point estimate and bootstrap interval (None when no interval was computed)."""

    value: float
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: nan becomes None, since JSON has no nan."""
        return {key: json_float(getattr(self, key)) for key in ("value", "low", "high")}


def json_float(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
