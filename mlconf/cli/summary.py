"""The short summary printed after a run: test metrics with intervals, verdict, where saved."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from mlconf.runner import RunResult


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}"


def print_summary(result: RunResult, console: Console) -> None:
    from rich.table import Table

    metrics = result.metrics
    test = metrics.get("test", {})
    model, baseline = test.get("model", {}), test.get("baseline", {})
    confidence = metrics.get("confidence", 0.95)
    table = Table(
        title=f"test metrics ({confidence:.0%} bootstrap intervals)", title_justify="left"
    )
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("interval", justify="right")
    table.add_column("dummy baseline", justify="right")
    primary = metrics.get("primary_metric")
    for name, value in model.items():
        label = f"[bold]{name}[/] (primary)" if name == primary else name
        interval = (
            f"{_fmt(value['low'])} .. {_fmt(value['high'])}"
            if value.get("low") is not None
            else "-"
        )
        table.add_row(
            label, _fmt(value["value"]), interval, _fmt(baseline.get(name, {}).get("value"))
        )
    console.print(table)
    cv = metrics.get("cv") or {}
    if primary in cv:
        folds = len(cv[primary]["folds"])
        console.print(
            f"cross-validation on train ({folds} folds): {primary} "
            f"{_fmt(cv[primary]['mean'])} ± {_fmt(cv[primary]['std'])}"
        )
    threshold = metrics.get("threshold") or {}
    if threshold.get("method") in ("cost", "metric", "fallback"):
        console.print(
            f"decision threshold {threshold['value']:.4f} (chosen by {threshold['optimize']} "
            f"on validation{'; ' + threshold['note'] if threshold.get('note') else ''})"
        )
    cost = (metrics.get("expected_cost") or {}).get("test", {})
    if cost:
        model_cost, base_cost = cost["model"], cost.get("baseline", {})
        interval = (
            f" ({_fmt(model_cost['low'])} .. {_fmt(model_cost['high'])})"
            if model_cost.get("low") is not None
            else ""
        )
        console.print(
            f"expected cost per test row: {_fmt(model_cost['value'])}{interval}, "
            f"dummy baseline {_fmt(base_cost.get('value'))}"
        )
    for item in metrics.get("success_criteria", []):
        statement = item.get("statement") or item["metric"]
        head, _, rest = statement.partition(": ")
        color = "red" if not item["passed"] else "yellow" if item["confident"] is False else "green"
        console.print(f"success criterion {head}: [{color}]{rest}[/]")
    if result.record.warnings:
        console.print(f"[yellow]{len(result.record.warnings)} warning(s)[/] in run.json")
    console.print(f"run saved to [bold]{_short(result.run_dir)}[/]", soft_wrap=True)


def _short(path: Path) -> str:
    """Relative to the working folder when inside it: shorter to read and to copy."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
