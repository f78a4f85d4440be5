"""Trackers: where a run is logged besides its folder (`tracker=mlflow`, or a registered one).

The runner opens the configured tracker before training (`open_tracker`: an unreachable
store stops the run there, or warns with `tracker.on_unreachable=warn`) and hands it the
finished run (`Tracking.log`). Registering a tracker of your own:

    @mlconf.register("tracker", "my_tracker")
    def my_tracker(url: str) -> Tracker: ...     # check() and log_run(run)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.components.trackers import mlflow_tracker  # noqa: F401 - registers `mlflow`
from mlconf.components.trackers._base import Sweep, TrackedRun, Tracker, flatten, run_metrics
from mlconf.core.component_registry import check_params, require
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text

if TYPE_CHECKING:
    from rich.console import Console

    from mlconf.config import TrainConfig
    from mlconf.store.runs import RunRecord

__all__ = ["Sweep", "TrackedRun", "Tracker", "Tracking", "flatten", "open_tracker", "run_metrics"]

ON_UNREACHABLE = ("fail", "warn")


@dataclass
class Tracking:
    """The run's tracker (None: tracking off or unreachable) and what it had to say."""

    tracker: Tracker | None
    console: Console | None = None
    warnings: list[str] = field(default_factory=list)

    def log(self, run_dir: Path, record: RunRecord, conf: TrainConfig) -> None:
        """Log the finished run; a tracker that fails then is reported, never raised: the
        run itself is done and saved."""
        if self.warnings:
            record.warnings.extend(w for w in self.warnings if w not in record.warnings)
            record.save()
        if self.tracker is None:
            return
        try:
            self.tracker.log_run(tracked_run(run_dir, record, conf))
        except Exception as exc:  # any tracker error: the run folder stays the record
            text = exc.what if isinstance(exc, MlconfError) else f"{type(exc).__name__}: {exc}"
            warning = mask_text(f"tracker '{conf.tracker.name}' did not log the run: {text}")
            record.warnings.append(warning)
            if self.console is not None:
                self.console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
            record.save()


def open_tracker(conf: TrainConfig, console: Console | None = None) -> Tracking:
    """The configured tracker, its store reached before a single row is read."""
    settings = conf.tracker
    if settings.name == "none":
        return Tracking(None, console)
    if settings.on_unreachable not in ON_UNREACHABLE:
        raise MlconfError(
            f"tracker.on_unreachable is '{settings.on_unreachable}'",
            where="config key tracker.on_unreachable",
            fix=f"use one of: {', '.join(ON_UNREACHABLE)}",
        )
    component = require("tracker", settings.name, "tracker.name")
    params = dict(settings.params)
    check_params(component, params)
    tracker: Tracker = component.factory(**params)
    try:
        tracker.check()
    except MlconfError as exc:
        if settings.on_unreachable == "fail":
            raise
        warning = f"{exc.what}; training without tracking (tracker.on_unreachable=warn)"
        if console is not None:
            console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
        return Tracking(None, console, [warning])
    return Tracking(tracker, console)


def tracked_run(run_dir: Path, record: RunRecord, conf: TrainConfig) -> TrackedRun:
    """The run as trackers see it: its record, config (secrets masked) and metrics.json."""
    import json

    from omegaconf import OmegaConf

    container: Any = OmegaConf.to_container(OmegaConf.structured(conf), resolve=True)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = {}
    return TrackedRun(
        run_dir=run_dir,
        run_id=record.id,
        experiment=record.experiment,
        status=record.status,
        config=_masked(container, record.secrets),
        metrics=metrics,
        fingerprints=dict(record.fingerprints),
        git=record.git,
        started=record.started,
        error=mask_text(record.error, record.secrets) if record.error else None,
        sweep=_sweep(),
    )


def _masked(value: Any, secrets: list[str]) -> Any:
    """Every string of a nested config with its credentials hidden."""
    if isinstance(value, dict):
        return {key: _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, secrets) for item in value]
    return mask_text(value, secrets) if isinstance(value, str) else value


def _sweep() -> Sweep | None:
    """The multirun this process runs a job of, from Hydra's config; None outside one."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra: Any = HydraConfig.get()
    if hydra.mode != RunMode.MULTIRUN:
        return None
    folder = str(Path(str(hydra.sweep.dir)).absolute())
    return Sweep(folder, int(hydra.job.num), str(hydra.job.override_dirname))
