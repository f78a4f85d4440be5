"""The `mlconf monitor` and `mlconf monitor history` jobs: a composed config in, a
monitoring run (once, or watched) and its console summary out."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text
from mlconf.monitoring.command import (
    EXIT_OK,
    REPORT_FILE,
    SUMMARY_FILE,
    MonitorResult,
    run_monitor,
)

if TYPE_CHECKING:
    from mlconf.config import TrainConfig

USAGE = """\
usage: mlconf monitor [model=REF] [current=PATH | window=7d | last=N] [out=DIR]
                      [registry_url=URL] [reference=PATH] [KEY=VALUE ...] [--watch]
       mlconf monitor history [model=NAME] [limit=N]

Compare current data with the reference profile saved with the model: drift per feature
(PSI, KS, chi-square, Jensen-Shannon, Wasserstein), prediction drift, data quality,
performance on feedback, health, impact; then the alert rules and their triggers.
Writes monitoring.json and monitoring_report.html into
experiments/<model>/monitoring/<time>/ (or out=DIR) and a row of `monitor_runs`.

  model=REF          a run's model folder, or a registered model NAME@ALIAS, NAME:VERSION
                     (default: <deploy.model_name>@production, e.g. with experiment=cars)
  current=PATH       a CSV or Parquet file of recent inputs, or
  window=7d          the prediction log over a time (s, m, h, d, w), or
  last=N             the last N logged predictions
  reference=PATH     another reference.json (default: the one in the model folder)
  any monitoring key, e.g. drift.correction=bonferroni drift.numeric=[psi,ks]
  performance.tolerance=0.05 (short for monitoring.KEY=VALUE)
  --watch [interval=SECONDS] [times=N]   run again every interval (default 3600 s)

`mlconf monitor` composes the same config as `mlconf train` (conf/monitor.yaml): any
override, experiment=, local/, --cfg job and -m (a sweep of monitoring settings) work.

exit codes: 0 no alert, 1 an alert fired, 2 a user error
"""


def monitor_job(cfg: Any) -> int:
    """`mlconf monitor`: the composed config's `monitoring` settings, once or watched."""
    from mlconf.runner import typed

    conf = typed(cfg)
    settings = conf.monitoring
    if not settings.watch:
        result = monitor_once(conf)
        _print(result)
        return result.exit_code
    model, out, kwargs = _arguments(conf)
    return _watch(model, out, settings.times, settings.interval, kwargs)


def monitor_once(conf: TrainConfig) -> MonitorResult:
    """One monitoring run of a composed (typed) config, as `mlconf monitor` runs it."""
    model, out, kwargs = _arguments(conf)
    return run_monitor(model, out_dir=out, **kwargs)


def _arguments(conf: TrainConfig) -> tuple[str, Path | None, dict[str, Any]]:
    settings = conf.monitoring
    kwargs: dict[str, Any] = {
        "registry_url": settings.registry_url or conf.deploy.registry_url,
        "current": Path(settings.current) if settings.current else None,
        "window": settings.window,
        "reference": Path(settings.reference) if settings.reference else None,
        "settings": settings,
    }
    model = settings.model or f"{conf.deploy.model_name}@production"
    return model, Path(settings.out_dir) if settings.out_dir else None, kwargs


def _print(result: MonitorResult) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from mlconf.monitoring.report import shown

    console = Console()
    drift = result.summary["drift"]
    table = Table(title=f"drift of {result.summary['model']['ref']}")
    for column in ("feature", "kind", "level", "tests"):
        table.add_column(column)
    for row in drift["features"][:20]:
        tests = ", ".join(f"{n} {shown(t)}" for n, t in row["tests"].items())
        table.add_row(row["feature"], row["kind"], row["level"], tests or row.get("note", ""))
    console.print(table)
    console.print(_drift_line(drift, result.summary["current"]["rows"]), markup=False)
    for alert in result.alerts:
        style = "red" if alert.level == "alert" else "yellow"
        console.print(
            f"[{style}]{alert.level}[/{style}] {escape(alert.kind)}: {escape(alert.message)}",
            markup=True,
            highlight=False,
        )
    for failure in result.summary.get("delivery_failures", []):
        console.print(
            f"[red]not delivered[/red] (rule '{escape(failure['rule'])}', "
            f"{escape(failure['action'])}): {escape(mask_text(failure['error']))}",
            markup=True,
            highlight=False,
        )
    console.print(f"wrote {result.out_dir / SUMMARY_FILE}\nwrote {result.out_dir / REPORT_FILE}")


def _drift_line(drift: dict[str, Any], rows: int) -> str:
    """The drift verdict in one line: drifted features, or why drift was not judged."""
    if drift.get("note"):
        return f"drift: {drift['note']}; not judged, no drift alert"
    line = (
        f"{len(drift['drifted'])} of {drift['compared']} features drifted "
        f"({drift['share_drifted']:.0%}); rows: {rows}"
    )
    if drift.get("insufficient"):
        line += f"; {len(drift['insufficient'])} with insufficient data (not judged)"
    return line


def history_job(cfg: Any) -> int:
    """`mlconf monitor history`: the newest monitor runs, of one model or all."""
    from rich.table import Table

    from mlconf.config.monitoring import check
    from mlconf.core.tables_out import print_table
    from mlconf.monitoring import history
    from mlconf.monitoring.command import check_sections
    from mlconf.runner import typed
    from mlconf.store.model_registry import ModelRegistry

    conf = typed(cfg)
    settings = conf.monitoring
    check(settings)
    check_sections(settings.sections)
    registry = ModelRegistry(settings.registry_url or conf.deploy.registry_url)
    if not registry.exists():
        raise MlconfError(
            f"no registry database at {registry.where}",
            fix="run `mlconf monitor model=...` first, or pass registry_url=",
        )
    name = settings.model
    rows = history.runs(registry.engine, name, limit=settings.limit)
    if not rows:
        sys.stdout.write(f"no monitor runs{f' for {name}' if name else ''} yet\n")
        return 0
    table = Table(title="monitor runs (newest first)")
    for column in (
        "id",
        "when",
        "model",
        "version",
        "rows",
        "drifted",
        "alerts",
        "warn",
        "status",
        "source",
    ):
        table.add_column(column)
    for row in rows:
        drifted = f"{row['share_drifted']:.0%}"
        if row["drifted"]:
            drifted += (
                f" ({', '.join(row['drifted'][:4])}{'...' if len(row['drifted']) > 4 else ''})"
            )
        table.add_row(
            str(row["id"]),
            row["created_at"],
            row["model_name"],
            str(row["model_version"]),
            str(row["rows"]),
            drifted,
            str(row["alerts"]),
            str(row["warnings"]),
            row["status"],
            row["source"],
        )
    print_table(table)
    return 0


def _watch(
    model: str, out: Path | None, times: int | None, interval: float, kwargs: dict[str, Any]
) -> int:
    """Run again every `interval` seconds (`times=N` stops after N runs); a run that fails
    with a user error is reported and retried next time (an empty window is normal)."""
    code, done = EXIT_OK, 0
    while times is None or done < times:
        try:
            result = run_monitor(model, out_dir=out / f"{done + 1:04d}" if out else None, **kwargs)
            _print(result)
            code = max(code, result.exit_code)
        except MlconfError as exc:
            sys.stderr.write(f"mlconf: error: {mask_text(exc.render())}\n")
            code = max(code, exc.exit_code)
        done += 1
        if times is not None and done >= times:
            break
        sys.stdout.write(f"next run in {interval:g} s (Ctrl-C stops)\n")
        sys.stdout.flush()
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            break
    return code
