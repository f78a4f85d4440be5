"""What a tracker is: two methods, `check` before training and `log_run` after it.

A tracker is registered as a component of kind `tracker` (`@register("tracker", "name")`);
its factory takes the config's `tracker.params` and returns a `Tracker`. It reads what the
run wrote into its folder (metrics.json, report.html, plots/ ...), so it never reaches into
the stages.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Files of a run folder a tracker keeps as artifacts, where the run wrote them.
RUN_FILES = (
    "report.html",
    "model_card.md",
    "leaderboard.csv",
    "metrics.json",
    "trials.csv",
    "run.json",
    "config.yaml",
    "fairness.json",
)
RUN_FOLDERS = ("plots",)


@dataclass(frozen=True)
class Sweep:
    """The multirun a run belongs to: its folder (one per sweep) and the job's number."""

    folder: str
    job: int
    overrides: str = ""


@dataclass(frozen=True)
class TrackedRun:
    """A finished run as a tracker sees it: its folder, record, config and metrics."""

    run_dir: Path
    run_id: str
    experiment: str
    status: str  # succeeded | failed | crashed
    config: dict[str, Any]
    metrics: dict[str, Any]
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    started: str | None = None
    error: str | None = None
    sweep: Sweep | None = None

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        return list(self.metrics.get("success_criteria") or [])

    def files(self) -> list[Path]:
        """The run folder's files worth keeping beside the tracked run."""
        return [self.run_dir / n for n in RUN_FILES if (self.run_dir / n).is_file()]

    def folders(self) -> list[Path]:
        return [self.run_dir / n for n in RUN_FOLDERS if (self.run_dir / n).is_dir()]


class Tracker(ABC):
    """Where runs are logged besides their folder."""

    @abstractmethod
    def check(self) -> None:
        """Reach the tracking store before training; raise MlconfError (with the masked
        address and the fix) if it cannot be reached."""

    @abstractmethod
    def log_run(self, run: TrackedRun) -> None:
        """Log one finished (or failed) run."""


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """`a.b.c -> value` for every leaf of a nested config (lists as JSON), so that a run's
    parameters can be compared key by key across runs."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple | Mapping):
            out[name] = json.dumps(value, default=str)
        else:
            out[name] = str(value)
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _scores(prefix: str, scores: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """`prefix.metric`, `.low` and `.high` for {metric: {value, low, high}} (or numbers)."""
    for name, score in scores.items():
        if isinstance(score, Mapping):
            for part, suffix in (("value", ""), ("low", ".low"), ("high", ".high")):
                number = _number(score.get(part))
                if number is not None:
                    yield f"{prefix}{name}{suffix}", number
        elif (number := _number(score)) is not None:
            yield f"{prefix}{name}", number


def run_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of metrics.json as flat names: `test.roc_auc` with `test.roc_auc.low`
    and `.high` (its interval), the baseline's as `test.baseline.roc_auc`, cross-validation
    as `cv.*`, the expected cost, the decision threshold and each verdict as 1 or 0."""
    out: dict[str, float] = {}
    for part in ("validation", "test"):
        found = metrics.get(part) or {}
        out.update(_scores(f"{part}.", found.get("model") or {}))
        out.update(_scores(f"{part}.baseline.", found.get("baseline") or {}))
        cost = ((metrics.get("expected_cost") or {}).get(part) or {}).get("model")
        if isinstance(cost, Mapping):
            out.update(_scores(f"{part}.", {"expected_cost": cost}))
    cv = metrics.get("cv")
    if isinstance(cv, Mapping):
        for key, value in flatten(cv, "cv.").items():
            number = _number(_float_or_none(value))
            if number is not None:
                out[key] = number
    threshold = _number((metrics.get("threshold") or {}).get("value"))
    if threshold is not None:
        out["threshold"] = threshold
    for verdict in metrics.get("success_criteria") or []:
        out[f"criterion.{verdict.get('metric')}.passed"] = 1.0 if verdict.get("passed") else 0.0
    if isinstance(metrics.get("passed"), bool):
        out["criteria.passed"] = 1.0 if metrics["passed"] else 0.0
    return out


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
