"""`mlconf monitor`: compare current data with a model's reference profile, write the
results (monitoring.json, monitoring_report.html, a `monitor_runs` row) and say whether
an alert fired.

Exit codes: 0 nothing at alert level, 1 at least one alert fired, 2 a user error (bad
argument, unknown model, empty window, reference of another version, ...).

Data quality, feature drift, prediction drift and then the sections that
`monitoring.sections` names run as stages, through the training runner's stage loop
(`runner.run_stages`). A section is
`SECTIONS[name]`: `function(MonitorContext) -> dict`; its dict is shown in the report and
stored in monitoring.json, and any `alerts` it lists (Alert objects or dicts with
kind/level/message/numbers) count like drift alerts. A plugin adds one to `SECTIONS` and
the config names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.core.names import check_path, inside
from mlconf.monitoring.drift import Alert, worst
from mlconf.monitoring.sections import install as install_loop_sections

if TYPE_CHECKING:
    from mlconf.config.monitoring import MonitoringConfig
    from mlconf.monitoring.window import Current
    from mlconf.store.artifacts import TrainedModel
    from mlconf.store.model_registry import ModelRegistry, ModelVersion

__all__ = [
    "SECTIONS",
    "Alert",
    "MonitorContext",
    "MonitorResult",
    "run_monitor",
]

SUMMARY_FILE = "monitoring.json"
REPORT_FILE = "monitoring_report.html"
EXIT_OK, EXIT_ALERT = 0, 1


@dataclass
class MonitorContext:
    """What a monitoring section may look at."""

    model: TrainedModel
    version: ModelVersion | None
    model_name: str
    model_dir: Path
    reference: dict[str, Any]
    current: Current
    settings: MonitoringConfig
    registry_url: str
    out_dir: Path
    window: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class MonitorResult:
    summary: dict[str, Any]
    alerts: list[Alert]
    out_dir: Path

    @property
    def exit_code(self) -> int:
        return EXIT_ALERT if any(a.level == "alert" for a in self.alerts) else EXIT_OK


# Sections added by other monitoring parts (performance, health, fairness, impact, ...).
SECTIONS: dict[str, Callable[[MonitorContext], dict[str, Any]]] = {}
install_loop_sections(SECTIONS)


def check_sections(names: list[str]) -> None:
    """Every section `monitoring.sections` names is one that SECTIONS holds."""
    for i, name in enumerate(names):
        if name not in SECTIONS:
            raise MlconfError(
                f"unknown monitoring section '{name}'.{did_you_mean(name, SECTIONS)}",
                where=f"monitoring.sections[{i}]",
                fix=f"use sections from: {', '.join(SECTIONS)} (a plugin adds its own to "
                "mlconf.monitoring.command.SECTIONS)",
            )


def _model_folder(model_ref: str, model: TrainedModel, version: ModelVersion | None) -> Path:
    if version is not None:
        return Path(version.model_dir)
    path = Path(model_ref).expanduser()
    return path.parent if path.is_file() else path


def _model_name(folder: Path, model: TrainedModel, version: ModelVersion | None) -> str:
    if version is not None:
        return version.name
    return str(model.manifest.get("experiment") or folder.resolve().parent.name)


def _as_alert(item: Any, section: str) -> Alert:
    if isinstance(item, Alert):
        return item
    if isinstance(item, dict) and {"level", "message"} <= set(item):
        return Alert(
            str(item.get("kind", section)),
            str(item["level"]),
            str(item["message"]),
            dict(item.get("numbers") or {}),
        )
    raise MlconfError(
        f"monitoring section '{section}' returned an alert that is not an Alert: {item!r}",
        fix="return Alert(kind, level, message, numbers) objects under 'alerts'",
    )


def run_monitor(
    model_ref: str,
    *,
    registry_url: str | None = None,
    current: Path | None = None,
    window: str | None = None,
    out_dir: Path | None = None,
    settings: dict[str, Any] | list[str] | None = None,
    reference: Path | None = None,
) -> MonitorResult:
    """Compare current data with the model's reference; write monitoring.json, the report
    and a `monitor_runs` row; return the summary and the alerts."""
    from mlconf.config.monitoring import DEFAULT_REGISTRY_URL
    from mlconf.monitoring import history
    from mlconf.monitoring.decisions import decide, decisions_section, delivery_failures
    from mlconf.monitoring.settings import load_settings
    from mlconf.store.model_registry import ModelRegistry

    started = time.perf_counter()
    config = load_settings(settings or {})
    check_sections(config.sections)
    url = registry_url or config.registry_url or DEFAULT_REGISTRY_URL
    registry = ModelRegistry(url)
    ctx = _context(
        model_ref, registry, config, current, window or config.window, out_dir, reference
    )
    summary, alerts = _compute(ctx)
    summary["decisions"] = decide(alerts, config, registry, model_ref, ctx.version)
    summary["sections"]["decisions"] = decisions_section(summary["decisions"], ctx.version)
    summary["delivery_failures"] = delivery_failures(summary["decisions"])
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary = _finished(ctx, summary, alerts)
    _write(ctx.out_dir, summary)
    history.record(registry.engine, _history_row(ctx, summary, alerts))
    return MonitorResult(summary, alerts, ctx.out_dir)


def _context(
    model_ref: str,
    registry: ModelRegistry,
    config: MonitoringConfig,
    current: Path | None,
    window: str | None,
    out_dir: Path | None,
    reference: Path | None,
) -> MonitorContext:
    """The model, its reference profile, the current data and the output folder: all a
    check looks at, ready before the first one runs."""
    from mlconf.ml.reference import REFERENCE_FILE, load_reference
    from mlconf.store.artifacts import PIPELINE_FILE
    from mlconf.store.model_registry import open_model

    model, version = open_model(model_ref, registry.url)
    folder = _model_folder(model_ref, model, version)
    name = _model_name(folder, model, version)
    sha256 = model.manifest.get("files", {}).get(PIPELINE_FILE)
    ref = load_reference(Path(reference) if reference else folder / REFERENCE_FILE, sha256)
    data = _current(current, window, config.last, name, registry, model)
    return MonitorContext(
        model=model,
        version=version,
        model_name=name,
        model_dir=folder,
        reference=ref,
        current=data,
        settings=config,
        registry_url=registry.url,
        out_dir=_out_folder(out_dir, name),
        window=window,
    )


def _out_folder(out_dir: Path | None, name: str) -> Path:
    """The folder given, or a new one per run under experiments/NAME/monitoring/."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    if out_dir:
        target = check_path(out_dir, "out_dir (--out / monitoring out_dir)")
    else:
        target = inside("experiments", name, "monitoring", stamp, where="the model name")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _finished(ctx: MonitorContext, summary: dict[str, Any], alerts: list[Alert]) -> dict[str, Any]:
    """The summary with its status, alerts and plots, made strict JSON (non-finite numbers
    replaced, and said where)."""
    from mlconf.core.strict_json import finite, replaced_reasons

    summary["status"] = worst([a.level for a in alerts])
    summary["alerts"] = [a.to_dict() for a in alerts]
    summary["plots"] = _plots(ctx, summary)
    summary, replaced = finite(summary)
    if replaced:  # e.g. a statistic that overflowed on inputs near 1.7e308
        summary["non_finite"] = replaced_reasons(replaced)
    return summary


def _write(target: Path, summary: dict[str, Any]) -> None:
    from mlconf.monitoring.report import write_report
    from mlconf.store.atomic import write_json

    write_json(target / SUMMARY_FILE, summary)
    write_report(target / REPORT_FILE, summary)


def _history_row(
    ctx: MonitorContext, summary: dict[str, Any], alerts: list[Alert]
) -> dict[str, Any]:
    """The run's `monitor_runs` row, for `mlconf monitor history`."""
    return {
        "model_name": ctx.model_name,
        "model_version": summary["model"]["version"],
        "source": ctx.current.source,
        "rows": len(ctx.current.frame),
        "share_drifted": summary["drift"]["share_drifted"],
        "drifted": summary["drift"]["drifted"],
        "alerts": sum(a.level == "alert" for a in alerts),
        "warnings": sum(a.level == "warn" for a in alerts),
        "status": summary["status"],
        "out_dir": str(ctx.out_dir),
        "summary": {
            "quality_alerts": sum(a.kind == "quality" for a in alerts),
            "prediction": (summary.get("prediction_drift") or {}).get("level"),
        },
    }


def _current(
    current: Path | None,
    window: str | None,
    last: int | None,
    name: str,
    registry: Any,
    model: TrainedModel,
) -> Current:
    from mlconf.monitoring.window import Current, read_file, read_log

    if current is not None:  # protected as the logged inputs are: the model's privacy policy
        from mlconf.ml.privacy.policy import model_policy

        frame = model_policy(model).rows(read_file(Path(current)))
        return Current(frame=frame, source=str(current))
    if window is None and last is None:
        raise MlconfError(
            "no current data given",
            fix="pass current=PATH (a CSV/Parquet file of recent inputs), or window=7d / "
            "last=N to read the prediction log",
        )
    positive = model.manifest.get("positive_class")
    return read_log(
        registry.engine,
        name,
        window=window,
        last=last,
        positive=str(positive) if positive is not None else None,
    )


def _compute(ctx: MonitorContext) -> tuple[dict[str, Any], list[Alert]]:
    """Every part of a monitoring run as a stage over one context, through the training
    runner's stage loop: data quality, feature drift, prediction drift, then the sections
    that `monitoring.sections` names."""
    from rich.console import Console

    from mlconf.runner import run_stages

    ref = ctx.reference
    version = ctx.version
    summary: dict[str, Any] = {
        "format": "mlconf-monitoring/1",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": ctx.model_name,
            "version": str(version.version) if version else ref.get("run_id"),
            "ref": version.ref if version else str(ctx.model_dir),
            "folder": str(ctx.model_dir),
            "sha256": ref.get("model_sha256"),
            "task": ctx.model.task,
        },
        "current": {"source": ctx.current.source, "rows": len(ctx.current.frame)},
        "reference": {
            "rows": ref.get("rows"),
            "created_at": ref.get("created_at"),
            "validation_metrics": ref.get("validation_metrics", {}),
        },
        "settings": _settings_dict(ctx.settings),
    }
    ctx.summary = summary
    alerts: list[Alert] = []
    sections: dict[str, Any] = {}

    def quality(state: MonitorContext) -> None:
        from mlconf.monitoring.quality import check_quality

        schema = state.model.manifest.get("schema")
        found, found_alerts = check_quality(
            ref, state.current.frame, schema, state.settings.quality
        )
        summary["quality"] = found
        alerts.extend(found_alerts)

    def drift(state: MonitorContext) -> None:
        from mlconf.monitoring.drift import feature_drift

        found, found_alerts = feature_drift(
            ref, state.current.frame, state.settings, _on_cluster(state)
        )
        summary["drift"] = found
        alerts.extend(found_alerts)

    def prediction(state: MonitorContext) -> None:
        from mlconf.monitoring.drift import prediction_drift

        labels, scores, note = _predictions(state)
        found, found_alerts = prediction_drift(ref, labels, scores, state.settings)
        summary["prediction_drift"] = found or {"note": note or "no predictions to compare"}
        alerts.extend(found_alerts)

    def section(name: str) -> Callable[[MonitorContext], None]:
        def run(state: MonitorContext) -> None:
            out = dict(SECTIONS[name](state) or {})
            found = [_as_alert(a, name) for a in out.pop("alerts", []) or []]
            out["alerts"] = [a.to_dict() for a in found]
            alerts.extend(found)
            sections[name] = out

        return run

    stages: dict[str, Callable[[MonitorContext], None]] = {"quality": quality, "drift": drift}
    if ctx.settings.drift.prediction:
        stages["prediction"] = prediction
    stages.update({name: section(name) for name in ctx.settings.sections})
    timings: dict[str, float] = {}
    run_stages(stages, list(stages), ctx, Console(stderr=True), timings.__setitem__)
    summary["sections"] = sections
    summary["stage_seconds"] = {name: round(t, 3) for name, t in timings.items()}
    return summary, alerts


def _on_cluster(ctx: MonitorContext) -> dict[str, Any] | None:
    """The drift tests' current values, computed on row partitions on the configured Dask
    cluster (setting `cluster`); None without one (they are computed in this process)."""
    if not ctx.settings.cluster:
        return None
    from mlconf.components.cluster import cluster_client, parse_cluster
    from mlconf.monitoring.drift import values_on_cluster

    with cluster_client(parse_cluster(ctx.settings.cluster), None, "monitoring cluster") as client:
        if client is None:
            return None
        return values_on_cluster(client, ctx.reference["columns"], ctx.current.frame)


def _settings_dict(settings: MonitoringConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(settings)


def _predictions(ctx: MonitorContext) -> tuple[Any, Any, str | None]:
    """The current predictions: logged ones, or the model scoring the current file."""
    model = ctx.model
    current = ctx.current
    if current.labels is not None:
        if model.task == "regression":
            return None, current.labels, None
        return current.labels, current.scores, None
    missing = [c for c in model.input_columns if c not in current.frame.columns]
    if missing:
        return None, None, f"not scored: the current data lacks {', '.join(missing)}"
    try:
        labels = model.predict(current.frame)
        if model.task == "regression":
            return None, labels, None
        proba = model.predict_proba(current.frame)
        scores = proba[:, 1] if proba is not None and proba.shape[1] == 2 else None
    except Exception as exc:  # a frame the pipeline cannot score is reported, not fatal
        return None, None, f"not scored: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return labels, scores, None


def _plots(ctx: MonitorContext, summary: dict[str, Any]) -> list[dict[str, Any]]:
    from mlconf.monitoring.report import drift_plots

    return drift_plots(ctx.reference, ctx.current.frame, summary, ctx.out_dir, ctx.settings)
