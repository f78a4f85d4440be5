"""Settings of the performance, health, impact, rules, notifiers and retrain parts of
`monitoring/`: dataclasses (so OmegaConf checks keys and types) whose defaults the modules
also use when given plain dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Alerts of each kind go to the notifiers; nothing retrains unless a rule says so.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "drift", "when": "drift", "level": "alert", "then": ["notify"]},
    {"name": "performance", "when": "performance", "level": "alert", "then": ["notify"]},
    {"name": "slo", "when": "health", "level": "alert", "then": ["notify"]},
)
DEFAULT_NOTIFIER: dict[str, Any] = {"name": "log"}


@dataclass
class PerformanceSettings:
    metric: str | None = None  # default: the model's primary metric
    window: str = "1d"  # width of each time window of the performance chart
    tolerance: float = 0.02  # below the validation interval by more than this: alert
    min_rows: int = 30  # windows with fewer labelled rows are shown, not judged
    labels_file: str | None = None  # CSV/parquet with prediction_id, outcome
    bootstrap: int = 100


@dataclass
class HealthSettings:
    p99_ms: float | None = 500.0
    error_rate: float | None = 0.01
    min_throughput: float | None = None  # predictions per minute
    metrics_url: str | None = None  # the server's /metrics, e.g. http://127.0.0.1:8000/metrics
    timeout: float = 5.0


@dataclass
class ImpactSettings:
    segment: str | None = None  # an input column: usage and decisions per value
    max_segments: int = 20
    # sensitive columns for production fairness; null: those of the model's training config
    sensitive: list[str] | None = None
    pii_min_share: float = 0.05


@dataclass
class RetrainSettings:
    alias: str = "production"
    challenger_alias: str = "challenger"
    window: str = "30d"
    holdout: float = 0.3
    min_holdout: int = 20
    feedback_share: float | None = None
    margin: float = 0.0
    require_fairness: bool = True
    runs_dir: str | None = None
    seed: int = 0
    actor: str = "mlconf monitor"


@dataclass
class LoopSettings:
    """The monitoring settings of this part, as fields of MonitoringConfig."""

    performance: PerformanceSettings = field(default_factory=PerformanceSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    impact: ImpactSettings = field(default_factory=ImpactSettings)
    rules: list[dict[str, Any]] = field(default_factory=lambda: [dict(r) for r in DEFAULT_RULES])
    notifiers: list[dict[str, Any]] = field(default_factory=lambda: [dict(DEFAULT_NOTIFIER)])
    retrain: RetrainSettings = field(default_factory=RetrainSettings)
