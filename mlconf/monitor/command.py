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

from mlconf.errors import MlconfError, did_you_mean
from mlconf.monitor.drift import Alert, worst
from mlconf.monitor.sections import install as install_loop_sections
from mlconf.names import check_path, inside

if TYPE_CHECKING:
    from mlconf.monitor.config import MonitoringConfig
    from mlconf.monitor.window import Current
    from mlconf.store.artifacts import TrainedModel
    from mlconf.store.model_registry import ModelVersion

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
                "mlconf.monitor.command.SECTIONS)",
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
    from mlconf.monitor import history
    from mlconf.monitor.config import DEFAULT_REGISTRY_URL
    from mlconf.monitor.reference import REFERENCE_FILE, load_reference
    from mlconf.monitor.settings import load_settings
    from mlconf.store.artifacts import PIPELINE_FILE
    from mlconf.store.atomic import write_json
    from mlconf.store.model_registry import ModelRegistry, open_model
    from mlconf.strict_json import finite, replaced_reasons

    started = time.perf_counter()
    config = load_settings(settings or {})
    check_sections(config.sections)
    url = registry_url or config.registry_url or DEFAULT_REGISTRY_URL
    window = window or config.window
    model, version = open_model(model_ref, url)
    folder = _model_folder(model_ref, model, version)
    name = _model_name(folder, model, version)
    sha256 = model.manifest.get("files", {}).get(PIPELINE_FILE)
    ref = load_reference(Path(reference) if reference else folder / REFERENCE_FILE, sha256)
    registry = ModelRegistry(url)
    data = _current(current, window, config.last, name, registry, model)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    if out_dir:
        target = check_path(out_dir, "out_dir (--out / monitoring out_dir)")
    else:
        target = inside("experiments", name, "monitoring", stamp, where="the model name")
    target.mkdir(parents=True, exist_ok=True)
    ctx = MonitorContext(
        model=model,
        version=version,
        model_name=name,
        model_dir=folder,
        reference=ref,
        current=data,
        settings=config,
        registry_url=url,
        out_dir=target,
        window=window,
    )
    summary, alerts = _compute(ctx)
    summary["decisions"] = _decide(alerts, config, registry, model_ref, version)
    summary["sections"]["decisions"] = {
        "note": None if version else "rules run for registered models (NAME@ALIAS) only",
        "rules": [
            {
                "rule": d["rule"],
                "fired": d["fired"],
                "reason": d["reason"],
                "actions": "; ".join(_action_text(a) for a in d["actions"]),
            }
            for d in summary["decisions"]
        ],
    }
    summary["delivery_failures"] = delivery_failures(summary["decisions"])
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["status"] = worst([a.level for a in alerts])
    summary["alerts"] = [a.to_dict() for a in alerts]
    summary["plots"] = _plots(ctx, summary)
    summary, replaced = finite(summary)
    if replaced:  # e.g. a statistic that overflowed on inputs near 1.7e308
        summary["non_finite"] = replaced_reasons(replaced)
    write_json(target / SUMMARY_FILE, summary)
    from mlconf.monitor.report import write_report

    write_report(target / REPORT_FILE, summary)
    history.record(
        registry.engine,
        {
            "model_name": name,
            "model_version": summary["model"]["version"],
            "source": data.source,
            "rows": len(data.frame),
            "share_drifted": summary["drift"]["share_drifted"],
            "drifted": summary["drift"]["drifted"],
            "alerts": sum(a.level == "alert" for a in alerts),
            "warnings": sum(a.level == "warn" for a in alerts),
            "status": summary["status"],
            "out_dir": str(target),
            "summary": {
                "quality_alerts": sum(a.kind == "quality" for a in alerts),
                "prediction": (summary.get("prediction_drift") or {}).get("level"),
            },
        },
    )
    return MonitorResult(summary, alerts, target)


def _decide(
    alerts: list[Alert],
    config: MonitoringConfig,
    registry: Any,
    model_ref: str,
    version: ModelVersion | None,
) -> list[dict[str, Any]]:
    """The alert rules and their triggers (notify, retrain, ...); a registered model only."""
    from mlconf.monitor.rules import evaluate_rules
    from mlconf.monitor.sections import as_plain

    if version is None:
        return []
    return evaluate_rules(alerts, as_plain(config), registry, model_ref)


def _action_text(action: dict[str, Any]) -> str:
    if not action["ok"]:
        return f"{action['trigger']} failed: {action['error'].splitlines()[0]}"
    result = action["result"]
    if action["trigger"] == "retrain" and isinstance(result, dict):
        return f"retrain: {result.get('decision')} ({result.get('why')})"
    failed = _failed_sends(action)
    if failed:
        return f"{action['trigger']}: " + "; ".join(
            f"{f['notifier']} failed: {f['error'].splitlines()[0]}" for f in failed
        )
    return f"{action['trigger']}: ok"


def _failed_sends(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The notifiers that could not deliver, from a notify-like trigger's result."""
    result = action.get("result")
    sent = result.get("sent") if isinstance(result, dict) else None
    return [s for s in sent or [] if isinstance(s, dict) and not s.get("ok", True)]


def delivery_failures(decisions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every trigger that failed and every notification that was not delivered (a webhook
    answering 4xx, or still failing after its retries): {rule, action, error}."""
    out = []
    for decision in decisions:
        for action in decision["actions"]:
            if not action["ok"]:
                out.append(
                    {
                        "rule": decision["rule"],
                        "action": action["trigger"],
                        "error": action["error"],
                    }
                )
            for failed in _failed_sends(action):
                out.append(
                    {
                        "rule": decision["rule"],
                        "action": f"{action['trigger']} {failed.get('notifier')}",
                        "error": str(failed.get("error")),
                    }
                )
    return out


def _current(
    current: Path | None,
    window: str | None,
    last: int | None,
    name: str,
    registry: Any,
    model: TrainedModel,
) -> Current:
    from mlconf.monitor.window import Current, read_file, read_log

    if current is not None:  # protected as the logged inputs are: the model's privacy policy
        from mlconf.privacy.policy import model_policy

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
        from mlconf.monitor.quality import check_quality

        schema = state.model.manifest.get("schema")
        found, found_alerts = check_quality(
            ref, state.current.frame, schema, state.settings.quality
        )
        summary["quality"] = found
        alerts.extend(found_alerts)

    def drift(state: MonitorContext) -> None:
        from mlconf.monitor.drift import feature_drift

        found, found_alerts = feature_drift(
            ref, state.current.frame, state.settings, _on_cluster(state)
        )
        summary["drift"] = found
        alerts.extend(found_alerts)

    def prediction(state: MonitorContext) -> None:
        from mlconf.monitor.drift import prediction_drift

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
    from mlconf.monitor.drift import values_on_cluster
    from mlconf.scale.cluster import cluster_client, parse_cluster

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
    from mlconf.monitor.report import drift_plots

    return drift_plots(ctx.reference, ctx.current.frame, summary, ctx.out_dir, ctx.settings)
