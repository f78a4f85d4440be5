"""The `tracker/` group's node: where each run is also logged (MLflow, or a registered one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrackerConfig:
    """`name` picks a registered tracker (`none`: the run folder only); `params` go to its
    factory. `on_unreachable`: `fail` stops before training when the tracking store cannot
    be reached, `warn` says so and trains without logging."""

    name: str = "none"
    on_unreachable: str = "fail"
    params: dict[str, Any] = field(default_factory=dict)
