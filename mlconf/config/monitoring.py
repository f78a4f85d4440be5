"""`MonitoringConfig`: the schema of the `monitoring/` config group, part of the one
config every command composes (`mlconf monitor` reads it from there), and `check`, which
refuses settings that make no sense. Python callers get the same settings from
`mlconf.monitoring.settings.load_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlconf.config.monitor_loop import LoopSettings
from mlconf.core.errors import MlconfError, did_you_mean

CORRECTIONS = ("bh", "bonferroni", "none")


@dataclass
class Level:
    """Warn and alert thresholds of one test: on the p-value (after correction) for tests
    that give one (fires when p is below), else on the statistic (fires at or above)."""

    warn: float = 0.1
    alert: float = 0.2


def _thresholds() -> dict[str, Level]:
    return {
        "psi": Level(0.1, 0.2),
        "ks": Level(0.05, 0.01),
        "chi2": Level(0.05, 0.01),
        "jensen_shannon": Level(0.1, 0.2),
        "wasserstein": Level(0.1, 0.2),
    }


@dataclass
class DriftSettings:
    """Which tests run on which columns and when they fire."""

    numeric: list[str] = field(default_factory=lambda: ["psi", "ks", "wasserstein"])
    categorical: list[str] = field(default_factory=lambda: ["psi", "chi2", "jensen_shannon"])
    # per column: the tests to run instead of the defaults of its type
    columns: dict[str, list[str]] = field(default_factory=dict)
    thresholds: dict[str, Level] = field(default_factory=_thresholds)
    # multiple-testing correction of p-values across features: bh | bonferroni | none
    correction: str = "bh"
    # a feature drifts when one of its tests is at `alert`; the share of such features
    share_warn: float = 0.1
    share_alert: float = 0.3
    # fewer current rows than this: drift is "insufficient data", never an alert
    min_rows: int = 30
    # fewer non-missing current values of a feature: that feature is "insufficient data"
    min_rows_per_feature: int = 30
    prediction: bool = True  # compare the prediction distribution with validation's
    plots: int = 6  # reference-vs-current histograms of the most drifted features


@dataclass
class QualitySettings:
    """Data quality of the current rows against the schema and the reference."""

    violation_warn: float = 0.01  # share of rows failing the schema
    violation_alert: float = 0.05
    missing_warn: float = 0.05  # rise of a column's missing share over the reference
    missing_alert: float = 0.2
    new_category_warn: float = 0.01  # share of values never seen in training
    new_category_alert: float = 0.05
    max_rows: int = 100_000  # schema validation runs on a sample of this many rows


@dataclass
class MonitoringConfig(LoopSettings):
    """Drift and quality here; performance, health, impact, rules, notifiers and retrain
    come from LoopSettings (mlconf/config/monitor_loop.py)."""

    model: str | None = None  # a model folder or registry ref; null: <model_name>@production
    current: str | None = None  # a CSV or Parquet file of recent inputs, or
    window: str | None = None  # e.g. 7d, 12h, 30m: the prediction log over that time
    last: int | None = None  # or the last N logged predictions
    reference: str | None = None  # another reference.json (default: the model's own)
    registry_url: str | None = None  # null: deploy.registry_url
    out_dir: str | None = None  # default experiments/<model>/monitoring/<time>
    watch: bool = False  # run again every `interval` seconds (`--watch`)
    times: int | None = None  # with watch: stop after this many runs
    interval: float = 3600.0  # seconds between runs with --watch
    limit: int = 50  # `mlconf monitor history`: rows shown
    # after drift and quality, these sections run as stages, in this order
    sections: list[str] = field(
        default_factory=lambda: ["performance", "health", "fairness", "impact"]
    )
    # drift on a Dask cluster's workers: local (started for the run) or tcp://host:port
    cluster: str | None = None
    drift: DriftSettings = field(default_factory=DriftSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)


TOP_LEVEL = (
    "model",
    "current",
    "window",
    "last",
    "reference",
    "registry_url",
    "out_dir",
    "watch",
    "times",
    "interval",
    "limit",
    "cluster",
)
DEFAULT_REGISTRY_URL = "sqlite:///experiments/mlconf.db"
LOOP_GROUPS = ("performance", "health", "impact", "rules", "notifiers", "retrain")


def check(settings: MonitoringConfig) -> None:
    """Refuse settings that name unknown tests or make no sense, before any work."""
    from mlconf.core.component_registry import REGISTRY

    drift = settings.drift
    if drift.correction not in CORRECTIONS:
        raise MlconfError(
            f"unknown correction '{drift.correction}'."
            + did_you_mean(drift.correction, CORRECTIONS),
            where="monitoring.drift.correction",
            fix=f"use one of: {', '.join(CORRECTIONS)}",
        )
    named = {
        "monitoring.drift.numeric": drift.numeric,
        "monitoring.drift.categorical": drift.categorical,
        **{f"monitoring.drift.columns.{c}": tests for c, tests in drift.columns.items()},
    }
    known = REGISTRY.names("drift")
    for where, tests in named.items():
        for test in tests:
            if test not in known:
                raise MlconfError(
                    f"unknown drift test '{test}'.{did_you_mean(test, known)}",
                    where=where,
                    fix=f"use registered drift tests: {', '.join(known)} (or register your own "
                    "with @mlconf.register('drift', NAME))",
                )
    for key in ("min_rows", "min_rows_per_feature"):
        _check_count(getattr(drift, key), f"monitoring.drift.{key}")
    if settings.last is not None and settings.last < 1:
        raise MlconfError("last must be at least 1", where="monitoring.last")
    for key in ("times", "limit"):
        value = getattr(settings, key)
        if value is not None and value < 1:
            raise MlconfError(
                f"{key} must be at least 1, got {value}",
                where=f"monitoring.{key}",
                fix=f"e.g. {key}=10",
            )
    if settings.interval <= 0:
        raise MlconfError("interval must be positive (seconds)", where="monitoring.interval")


def _check_count(value: object, where: str) -> None:
    """A row count: a whole number, 0 or more (0 judges drift on any number of rows)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MlconfError(
            f"{where.rsplit('.', 1)[-1]} must be a whole number of rows, 0 or more; got {value!r}",
            where=where,
            fix=f"e.g. {where.removeprefix('monitoring.')}=30",
        )


def level_of(settings: MonitoringConfig, test: str) -> Level:
    """The thresholds of a test; a user's own test without any gets p<0.05 / p<0.01."""
    return settings.drift.thresholds.get(test) or Level(0.05, 0.01)
