"""The performance, health and impact sections of a monitor run, and their settings.

Each section is `function(context) -> dict` over the monitor's context (the model, its
registry version, the registry URL, the window, the monitoring settings); the dict goes
into monitoring.json and the report, and its `alerts` count like drift alerts. `install`
adds them to the monitor command's `SECTIONS`.

Settings (the `monitoring/` group; each block also works as a plain dict):

    performance: {metric: null, window: 1d, tolerance: 0.02, min_rows: 30, labels_file: null}
    health: {p99_ms: 500, error_rate: 0.01, min_throughput: null, metrics_url: null}
    impact: {segment: null, sensitive: null, pii_min_share: 0.05}
    rules: [...]        # mlconf.monitoring.rules
    notifiers: [...]    # mlconf.monitoring.notify
    retrain: {...}      # mlconf.monitoring.retrain
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.monitoring.performance import seconds

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import FairnessConfig


def as_plain(settings: Any) -> dict[str, Any]:
    """Settings (a dataclass, an OmegaConf node or a dict) as plain dicts and lists."""
    if settings is None:
        return {}
    if is_dataclass(settings) and not isinstance(settings, type):
        return asdict(settings)
    from omegaconf import DictConfig, OmegaConf

    if isinstance(settings, DictConfig):
        found = OmegaConf.to_container(settings, resolve=True)
        return {str(k): v for k, v in found.items()} if isinstance(found, dict) else {}
    return dict(settings)


def _part(ctx: Any, name: str) -> dict[str, Any]:
    found = as_plain(getattr(ctx, "settings", None)).get(name)
    return dict(found or {})


def _since(ctx: Any) -> datetime | None:
    window = getattr(ctx, "window", None)
    if not window:
        return None
    return datetime.now(UTC) - timedelta(seconds=seconds(window, "monitoring.window"))


def _engine(ctx: Any) -> Any:
    from mlconf.store.model_registry import ModelRegistry

    return ModelRegistry(ctx.registry_url).engine


def _model_facts(ctx: Any) -> tuple[str, list[Any], Any, Path | None, dict[str, Any]]:
    """task, classes, positive class, run folder, registry metrics of the monitored model."""
    model = ctx.model
    version = getattr(ctx, "version", None)
    run_dir = version.run_dir if version is not None else None
    if run_dir is None and getattr(ctx, "model_dir", None) is not None:
        run_dir = Path(ctx.model_dir).parent
    metrics = dict(version.metrics) if version is not None else {}
    positive = model.manifest.get("positive_class")
    return model.task, list(model.classes), positive, run_dir, metrics


def performance_section(ctx: Any) -> dict[str, Any]:
    from mlconf.monitoring.performance import baseline, labelled, performance

    conf = _part(ctx, "performance")
    task, classes, positive, run_dir, metrics = _model_facts(ctx)
    metric = conf.get("metric") or metrics.get("primary_metric") or _primary(run_dir, task)
    rows = labelled(
        _engine(ctx),
        ctx.model_name,
        task=task,
        classes=classes,
        labels_file=conf.get("labels_file"),
        since=_since(ctx),
    )
    base = baseline(run_dir, metric) if run_dir is not None else None
    found, alerts = performance(
        rows,
        metric=metric,
        task=task,
        classes=classes,
        positive_class=positive,
        base=base,
        settings=conf,
    )
    return {**found, "alerts": alerts}


def _primary(run_dir: Path | None, task: str) -> str:
    try:
        if run_dir is None:
            raise RuntimeError("internal error: expected run_dir is not None")
        return str(json.loads((run_dir / "metrics.json").read_text())["primary_metric"])
    except (AssertionError, OSError, KeyError, json.JSONDecodeError):
        return "accuracy" if task == "classification" else "rmse"


def health_section(ctx: Any) -> dict[str, Any]:
    from mlconf.monitoring.health import health
    from mlconf.monitoring.performance import read_predictions

    predictions = read_predictions(_engine(ctx), ctx.model_name, since=_since(ctx))
    found, alerts = health(predictions, _part(ctx, "health"))
    return {**found, "alerts": alerts}


def _window_rows(ctx: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The logged predictions and the labelled ones of the monitored model in the window."""
    from mlconf.monitoring.performance import labelled, read_predictions

    task, classes, *_ = _model_facts(ctx)
    engine = _engine(ctx)
    since = _since(ctx)
    predictions = read_predictions(engine, ctx.model_name, since=since)
    rows = labelled(engine, ctx.model_name, task=task, classes=classes, since=since).frame
    return predictions, rows


def impact_section(ctx: Any) -> dict[str, Any]:
    """Usage, decision rates, agreement with feedback, PII in inputs, artifact integrity."""
    from mlconf.monitoring.impact import impact

    conf = _part(ctx, "impact")
    task, classes, positive, _, _ = _model_facts(ctx)
    predictions, rows = _window_rows(ctx)
    version = getattr(ctx, "version", None)
    found, alerts = impact(
        predictions,
        rows,
        task=task,
        classes=classes,
        positive_class=positive,
        fairness_conf=None,
        settings={k: v for k, v in conf.items() if k != "sensitive"},
        integrity_of=(version.ref, ctx.registry_url) if version is not None else None,
    )
    return {**found, "alerts": alerts}


def fairness_section(ctx: Any) -> dict[str, Any]:
    """Group metrics and the fairness limits on labelled production rows."""
    from mlconf.monitoring.impact import fairness_alerts, production_fairness

    task, classes, positive, run_dir, _ = _model_facts(ctx)
    _, rows = _window_rows(ctx)
    conf = fairness_settings(run_dir, _part(ctx, "impact").get("sensitive"))
    found = production_fairness(rows, conf, task=task, classes=classes, positive_class=positive)
    return {**found, "alerts": fairness_alerts(found)}


def fairness_settings(run_dir: Path | None, sensitive: list[str] | None) -> FairnessConfig:
    """The model's training fairness settings (limits, group size); `sensitive` overrides
    which columns are assessed."""
    from omegaconf import DictConfig, OmegaConf

    from mlconf.config import FairnessConfig, SensitiveAttribute

    conf = FairnessConfig()
    config_file = run_dir / "config.yaml" if run_dir is not None else None
    if config_file is not None and config_file.is_file():
        loaded = OmegaConf.load(config_file)
        node = loaded.get("fairness") if isinstance(loaded, DictConfig) else None
        if node is not None:
            merged = OmegaConf.merge(OmegaConf.structured(FairnessConfig), node)
            found = OmegaConf.to_object(merged)
            if isinstance(found, FairnessConfig):
                conf = found
    if sensitive is not None:
        conf.sensitive = [SensitiveAttribute(column=c) for c in sensitive]
        conf.intersections = []
    return conf


SECTION_FUNCTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "performance": performance_section,
    "health": health_section,
    "fairness": fairness_section,
    "impact": impact_section,
}


def install(sections: MutableMapping[str, Callable[[Any], dict[str, Any]]]) -> None:
    """Add the performance, health and impact sections to a monitor's SECTIONS."""
    for name, function in SECTION_FUNCTIONS.items():
        sections.setdefault(name, function)
