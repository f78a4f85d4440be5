"""The summary of a multirun: every job ranked by its primary metric, failures included.

It reads the job folders the sweep wrote (run.json, metrics.json, Hydra's overrides),
so it works for any launcher, in-process or not. Jobs are ranked on the validation part
(else the cross-validation mean on train): choosing on the test part would make the
test score of the chosen job optimistic. The test score is shown beside, never used to
choose, unless a job has neither, which the summary then says.
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
# What ranks a job, best first: the test part only when a job has nothing else.
BASES = ("validation", "cv mean", "test")
TEST_ONLY = (
    "no validation part (split.validation_size=0) and no cross-validation (split.folds); "
    "give it one of them so that the sweep chooses without looking at the test part"
)


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


def _score(metrics: dict[str, Any], part: str, metric: Any) -> Any:
    return ((metrics.get(part) or {}).get("model") or {}).get(metric, {}).get("value")


def ranking_score(metrics: dict[str, Any]) -> tuple[str, Any]:
    """The score a job is ranked on and where it comes from (one of BASES; "" unscored)."""
    primary = metrics.get("primary_metric")
    validation = _score(metrics, "validation", primary)
    if validation is not None:
        return "validation", validation
    cv_mean = ((metrics.get("cv") or {}).get(primary) or {}).get("mean")
    if cv_mean is not None:
        return "cv mean", cv_mean
    test = _score(metrics, "test", primary)
    return ("test", test) if test is not None else ("", None)


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for job in sorted(p for p in sweep_dir.iterdir() if (p / "run.json").is_file()):
        record = _read(job / "run.json") or {}
        metrics = _read(job / "metrics.json") or {}
        primary = metrics.get("primary_metric")
        ranked_on, value = ranking_score(metrics)
        registered = (record.get("counts") or {}).get("registered") or {}
        rows.append(
            {
                "job": job.name,
                "overrides": _overrides(job),
                "status": record.get("status", "unknown"),
                "primary_metric": primary,
                "ranked_on": ranked_on,
                "value": value,
                "test_value": _score(metrics, "test", primary),
                "passed": metrics.get("passed"),
                "registered": registered.get("ref") or "",
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

    def badness(row: dict[str, Any]) -> tuple[bool, str, int, float]:
        value, metric = row["value"], row["primary_metric"] or ""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (True, metric, len(BASES), math.inf)  # failed or unscored jobs go last
        higher = REGISTRY.get("metric", metric).meta.get("greater_is_better", True)
        # A job ranked on test comes after every job ranked on held-out data.
        return (False, metric, BASES.index(row["ranked_on"]), -value if higher else value)

    rows = sorted(job_rows(sweep_dir), key=badness)
    frame = pd.DataFrame(rows)
    if len(frame):
        frame.insert(0, "rank", range(1, len(frame) + 1))
        write_with(sweep_dir / SUMMARY_FILE, lambda tmp: frame.to_csv(tmp, index=False))
    return frame


def _bases(frame: pd.DataFrame) -> list[str]:
    return [b for b in BASES if b in set(frame["ranked_on"])]


def ranked_on(frame: pd.DataFrame) -> str:
    """Which score ranks the sweep's jobs, in words, for the table's title."""
    bases = _bases(frame)
    if not bases:
        return "nothing: no job was scored"
    return f"{' / '.join(bases)} score (test shown beside, never used to choose)"


def print_summary(frame: pd.DataFrame, sweep_dir: Path, console: Console) -> None:
    from rich.table import Table

    table = Table(
        title=f"sweep: {len(frame)} job(s), ranked by the {ranked_on(frame)}",
        title_justify="left",
    )
    bases = _bases(frame)
    mixed = len(bases) > 1  # then a column says which score ranks each job
    columns = ["rank", "overrides", "status", "metric", *(["ranked on"] if mixed else [])]
    for column in [*columns, "score" if mixed else "".join(bases) or "score", "test", "criteria"]:
        table.add_column(column, overflow="fold")
    for row in frame.itertuples(index=False):
        criteria = {True: "met", False: "NOT met"}.get(row.passed, "-")
        status = row.status if row.status == "succeeded" else f"[red]{row.status}[/]"
        metric = row.primary_metric if isinstance(row.primary_metric, str) else "-"
        basis = [row.ranked_on or "-"] if mixed else []
        scores = (_fmt(row.value), _fmt(row.test_value), criteria)
        table.add_row(str(row.rank), row.overrides, status, metric, *basis, *scores)
    console.print(table)
    on_test = [str(job) for job in frame.loc[frame["ranked_on"] == "test", "job"]]
    if on_test:
        console.print(
            f"[yellow]ranked on the test part[/]: job(s) {', '.join(on_test)}: {TEST_ONLY}",
            soft_wrap=True,
        )
    console.print(f"summary saved to {sweep_dir / SUMMARY_FILE}", soft_wrap=True)


def _fmt(value: Any) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"
