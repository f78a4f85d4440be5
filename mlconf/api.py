"""mlconf from plain Python or a notebook: the same composition and runner as the CLI.

`compose` builds a command's config from the same primary configs and groups as
`mlconf <command>` (with the project's ./conf on the search path when there is one), and
`train` runs it into the same kind of run folder, without a Hydra app around it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.config.compose import compose
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

    from mlconf.monitoring.command import MonitorResult
    from mlconf.runner import RunResult
    from mlconf.store.artifacts import TrainedModel


@dataclass
class Run:
    """A finished training run: its folder, metrics, verdicts and model."""

    run_dir: Path
    status: str
    metrics: dict[str, Any]
    model_dir: Path | None

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """One entry per success criterion of `problem/`: metric, bound, value, passed."""
        return list(self.metrics.get("success_criteria") or [])

    @property
    def passed(self) -> bool | None:
        """Whether every success criterion was met (None when the problem sets none)."""
        return self.metrics.get("passed") if self.verdicts else None

    def load_model(self) -> TrainedModel:
        """The saved model, its sha256 manifest checked."""
        if self.model_dir is None:
            raise MlconfError(
                "this run saved no model",
                where=str(self.run_dir),
                fix="keep the `save` stage in `stages`",
            )
        from mlconf.store.artifacts import load_model

        return load_model(self.model_dir)

    @classmethod
    def of(cls, result: RunResult) -> Run:
        return cls(
            run_dir=result.run_dir,
            status=result.record.status,
            metrics=result.metrics,
            model_dir=result.model_dir,
        )


def train(
    cfg: DictConfig | None = None,
    *,
    overrides: Sequence[str] = (),
    run_dir: str | Path | None = None,
    config_dir: str | Path | None = None,
) -> Run:
    """Train one run, as `mlconf train` does, and return it.

    Pass a composed config (`compose("train", ...)`) or overrides. The run folder defaults
    to experiments/<experiment>/runs/<time>-<id> under the working folder, as on the CLI.
    """
    from rich.console import Console

    from mlconf.runner import run

    if cfg is None:
        cfg = compose("train", overrides, config_dir=config_dir)
    elif overrides:
        raise MlconfError(
            "pass either a composed config or overrides, not both",
            where="train(cfg, overrides=...)",
            fix="put the overrides in compose('train', overrides=[...])",
        )
    folder = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    return Run.of(run(cfg, run_dir=folder, console=Console(stderr=True)))


def default_run_dir(cfg: Any) -> Path:
    """experiments/<experiment>/runs/<time>-<id>, the folder the CLI's Hydra app makes."""
    from mlconf.core.names import check_name

    name = check_name(cfg.get("experiment_name"), "config key experiment_name", kind="experiment")
    stamp = f"{time.strftime('%Y-%m-%d_%H-%M-%S')}-{uuid.uuid4().hex[:6]}"
    return Path("experiments") / name / "runs" / stamp


def predict(
    model: TrainedModel | str | Path, rows: pd.DataFrame, *, registry_url: str | None = None
) -> pd.DataFrame:
    """Predictions for `rows`, as `mlconf predict` writes them: `prediction` and, for a
    classifier, `proba_<class>` per class, on the rows' index.

    `model` is a loaded model, a model folder or a registry ref (NAME@ALIAS, NAME:VERSION,
    looked up in `registry_url`, default the config's deploy.registry_url)."""
    import pandas as pd

    from mlconf.deploy.scoring import score
    from mlconf.deploy.scoring_model import open_scoring_model

    if isinstance(model, str | Path):
        url = registry_url or str(compose("predict").deploy.registry_url)
        model = open_scoring_model(str(model), url)[0]
    labels, proba = score(model, model._check_columns(rows))
    out = pd.DataFrame({"prediction": labels}, index=rows.index)
    if proba is not None:
        for i, label in enumerate(model.classes):
            out[f"proba_{label}"] = proba[:, i]
    return out


def monitor(
    model: str | Path | None = None,
    current: str | Path | None = None,
    *,
    overrides: Sequence[str] = (),
    config_dir: str | Path | None = None,
) -> MonitorResult:
    """One `mlconf monitor` run from Python: the monitoring summary and its alerts.

    `model` is a model folder or registry ref (default: the experiment's
    <model_name>@production); `current` a CSV or Parquet file of recent inputs (or give
    `window=7d` / `last=N` in `overrides` for the prediction log)."""
    from mlconf.monitoring.jobs import monitor_once
    from mlconf.runner import typed

    given = [f"model={model}"] if model is not None else []
    given += [f"current={current}"] if current is not None else []
    return monitor_once(typed(compose("monitor", [*given, *overrides], config_dir)))
