"""The monitoring settings for Python callers of `run_monitor`: the composed `monitoring`
group (the project's conf/ included), then their overrides, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlconf.config.monitoring import LOOP_GROUPS, TOP_LEVEL, MonitoringConfig, check
from mlconf.core.errors import MlconfError, did_you_mean


def load_settings(
    overrides: MonitoringConfig | list[str] | dict[str, Any] | None = None,
    project: Path | None = None,
) -> MonitoringConfig:
    """The `monitoring` settings of the composed config (the project's conf/ in `project`,
    default the working folder), then dotted KEY=VALUE overrides or a dict of them; a
    composed MonitoringConfig is only checked."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mlconf.config.compose import compose

    if isinstance(overrides, MonitoringConfig):
        check(overrides)
        return overrides
    conf = (project or Path.cwd()) / "conf"
    composed = compose("monitor", config_dir=conf if conf.is_dir() else None).monitoring
    # A fresh typed node: its free mappings (drift.columns, thresholds) take new keys.
    base = OmegaConf.merge(OmegaConf.structured(MonitoringConfig), composed)
    where = "monitor settings"
    try:
        if isinstance(overrides, dict):
            base = OmegaConf.merge(base, OmegaConf.create(overrides))
        elif overrides:
            for item in overrides:
                _check_key(item.partition("=")[0].removeprefix("monitoring."))
            where = "command line"
            dotlist = [o.removeprefix("monitoring.") for o in overrides]
            base = OmegaConf.merge(base, OmegaConf.from_dotlist(dotlist))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise MlconfError(
            f"invalid monitoring setting: {str(exc).splitlines()[0]}",
            where=f"{where}, monitoring.{key}" if key else where,
            fix="see conf/monitoring/default.yaml for the keys and their types",
        ) from exc
    settings: MonitoringConfig = OmegaConf.to_object(base)  # type: ignore[assignment]
    check(settings)
    return settings


def _check_key(key: str) -> None:
    head = key.split(".")[0]
    known = [*TOP_LEVEL, "drift", "quality", *LOOP_GROUPS]
    if head not in known:
        raise MlconfError(
            f"unknown monitoring setting '{key}'.{did_you_mean(head, known)}",
            fix=f"use one of: {', '.join(known)} (e.g. drift.correction)",
        )
