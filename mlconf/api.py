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


@dataclass(frozen=True)
class Table:
    """Rows of text cells: an HTML table in a notebook (`_repr_html_`), aligned text
    wherever there is no HTML display (`__repr__`)."""

    title: str
    columns: list[str]
    rows: list[list[str]]

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        return (
            f'<table class="mlconf"><caption>{html.escape(self.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def __repr__(self) -> str:
        lines = [self.columns, *self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.columns))]
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        ]
        return "\n".join([self.title, *text])


class Metrics(dict[str, Any]):
    """metrics.json as a dict; shown as one row per part and metric, with the 95%
    interval and the baseline's value beside the model's."""

    def table(self) -> Table:
        from mlconf.report.format import fmt, interval

        rows = []
        for part in ("validation", "test"):
            scores = self.get(part) or {}
            baseline = scores.get("baseline") or {}
            for name, score in (scores.get("model") or {}).items():
                value = score.get("value") if isinstance(score, dict) else score
                base = baseline.get(name)
                base = base.get("value") if isinstance(base, dict) else base
                rows.append([part, name, fmt(value), interval(score), fmt(base)])
        columns = ["part", "metric", "value", "95% interval", "baseline"]
        return Table("metrics", columns, rows)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table())


@dataclass(repr=False)
class Run:
    """A finished training run: its folder, metrics, verdicts and model. In a notebook it
    shows as tables: the run, its verdicts, its metrics and the leaderboard."""

    run_dir: Path
    status: str
    metrics: Metrics
    model_dir: Path | None

    def __post_init__(self) -> None:
        if not isinstance(self.metrics, Metrics):
            self.metrics = Metrics(self.metrics)

    @property
    def leaderboard(self) -> Table | None:
        """The model-selection leaderboard (leaderboard.csv), best first; None without one."""
        import csv

        from mlconf.report.format import fmt

        path = self.run_dir / "leaderboard.csv"
        if not path.is_file():
            return None
        with path.open(newline="", encoding="utf-8") as fh:
            lines = list(csv.reader(fh))
        if not lines:
            return None
        rows = [[fmt(_number(cell)) for cell in line] for line in lines[1:]]
        return Table("leaderboard", lines[0], rows)

    def tables(self) -> list[Table]:
        """What the run shows: facts, verdicts, metrics and the leaderboard, if any."""
        from mlconf.report.format import fmt

        facts = [
            ["status", self.status],
            ["run folder", str(self.run_dir)],
            ["model folder", str(self.model_dir) if self.model_dir else "-"],
            ["primary metric", str(self.metrics.get("primary_metric") or "-")],
            ["success criteria", fmt(self.passed)],
        ]
        shown = [Table("run", ["", ""], facts)]
        if self.verdicts:
            verdicts = [
                [str(v.get("metric")), fmt(v.get("passed")), str(v.get("statement", ""))]
                for v in self.verdicts
            ]
            shown.append(Table("verdicts", ["metric", "met", "verdict"], verdicts))
        if self.metrics.table().rows:
            shown.append(self.metrics.table())
        board = self.leaderboard
        return [*shown, board] if board is not None else shown

    def _repr_html_(self) -> str:
        return "".join(table._repr_html_() for table in self.tables())

    def __repr__(self) -> str:
        return "\n\n".join(repr(table) for table in self.tables())

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
            metrics=Metrics(result.metrics),
            model_dir=result.model_dir,
        )


def _number(cell: str) -> Any:
    """A CSV cell as a number where it is one (for formatting), else the text."""
    try:
        return float(cell) if cell else None
    except ValueError:
        return cell


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
