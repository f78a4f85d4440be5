"""The summary of a multirun: every job ranked by its primary metric, failures included.

It reads the job folders the sweep wrote (run.json, metrics.json, Hydra's overrides),
so it works for any launcher, in-process or not.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

SUMMARY_FILE = "sweep_summary.csv"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _overrides(job: Path) -> str:
    import yaml

    try:
        items = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    except (OSError, yaml.YAMLError):
        return ""
    return " ".join(str(i) for i in items)


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for job in sorted(p for p in sweep_dir.iterdir() if (p / "run.json").is_file()):
        record = _read(job / "run.json") or {}
        metrics = _read(job / "metrics.json") or {}
        primary = metrics.get("primary_metric")
        value = metrics.get("test", {}).get("model", {}).get(primary, {}).get("value")
        rows.append(
            {
                "job": job.name,
                "overrides": _overrides(job),
                "status": record.get("status", "unknown"),
                "primary_metric": primary,
                "value": value,
                "passed": metrics.get("passed"),
                "seconds": round(sum(record.get("stages", {}).values()), 2),
                "error": (record.get("error") or "").splitlines()[0] if record.get("error") else "",
                "run_dir": str(job),
            }
        )
    return rows


def summarize(sweep_dir: Path) -> pd.DataFrame:
    """Rank the jobs (best first per primary metric, failures last) and save the table."""
    import pandas as pd

    from mlconf.core.component_registry import REGISTRY
    from mlconf.store.atomic import write_with

    def badness(row: dict[str, Any]) -> tuple[bool, str, float]:
        value, metric = row["value"], row["primary_metric"] or ""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (True, metric, math.inf)  # failed or unscored jobs go last
        higher = REGISTRY.get("metric", metric).meta.get("greater_is_better", True)
        return (False, metric, -value if higher else value)

    rows = sorted(job_rows(sweep_dir), key=badness)
    frame = pd.DataFrame(rows)
    if len(frame):
        frame.insert(0, "rank", range(1, len(frame) + 1))
        write_with(sweep_dir / SUMMARY_FILE, lambda tmp: frame.to_csv(tmp, index=False))
    return frame


def print_summary(frame: pd.DataFrame, sweep_dir: Path, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"sweep: {len(frame)} job(s), ranked", title_justify="left")
    for column in ("rank", "overrides", "status", "metric", "test value", "criteria"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        value = "-" if row.value is None or row.value != row.value else f"{row.value:.4f}"
        criteria = {True: "met", False: "NOT met"}.get(row.passed, "-")
        status = row.status if row.status == "succeeded" else f"[red]{row.status}[/]"
        metric = row.primary_metric if isinstance(row.primary_metric, str) else "-"
        table.add_row(str(row.rank), row.overrides, status, metric, value, criteria)
    console.print(table)
    console.print(f"summary saved to {sweep_dir / SUMMARY_FILE}", soft_wrap=True)
