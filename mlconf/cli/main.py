"""The `mlconf` command: Hydra apps for runs, plain subcommands for the rest.

Heavy libraries are imported only by the subcommand that needs them, so
`mlconf --help` and `mlconf plugins` start fast (docs/architecture.md: fast start).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlconf.cli.warm_client import WARM_COMMANDS, run_warm
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import format_exception, mask_text

USAGE = """\
mlconf <command> [options]

commands:
  train [overrides]      train and evaluate an experiment (Hydra overrides; -m for a sweep)
  plugins [-p MODULE]    list every registered component by kind, name and origin
  init DIR               scaffold a project folder with a working conf/
  schema infer PATH      write a starter schema YAML from a CSV or Parquet file
  predict KEY=VALUE...   score a CSV/Parquet file or SQL query with a model, in chunks
                         (model=... input=... output=...; see `mlconf predict --help`)
  serve [model=REF]      serve a model over HTTP (FastAPI): predict, explain, feedback,
                         health, metrics; `mlconf serve --help` for the settings
  report RUN_DIR         rebuild report.html and model_card.md of a run (or a sweep's
                         sweep_report.html) from its folder, without retraining
  models ACTION ...      the model registry: list, show, promote, rollback, archive, export
  monitor [model=REF]    drift, prediction drift, data quality, performance and health of
                         current data against the model's reference (current=PATH or
                         window=7d); exit 1 on an alert; `mlconf monitor history`
  warm start|stop|status keep a process with the libraries imported, so that commands
                         start in a fraction of a second (docs/how-to/run-performance.md)

train, predict, serve and monitor compose the same config (conf/<command>.yaml): any
override, experiment=, local/, --cfg job and -m work for each; `--help` after a command
shows its settings.

examples:
  mlconf train
  mlconf train experiment=cars model=random_forest split.test_size=0.3
  mlconf train -m model=xgboost,random_forest,logistic
  mlconf train --cfg job            # print the composed config and exit
  mlconf train --help               # Hydra's help: config groups and their options

Errors are one paragraph; set MLCONF_TRACEBACK=1 (or HYDRA_FULL_ERROR=1) for the traceback.
"""


def _show_traceback() -> bool:
    return os.environ.get("MLCONF_TRACEBACK") == "1" or os.environ.get("HYDRA_FULL_ERROR") == "1"


def report_error(exc: MlconfError) -> None:
    """One paragraph on stderr: what, where, how to fix."""
    sys.stderr.write(f"mlconf: error: {mask_text(exc.render())}\n")


def _quick_exit() -> None:
    """Freeze the garbage collector when the interpreter exits. Registered as the command
    starts, it runs after the exit hooks registered during the command (last in, first out).

    A command that imported scikit-learn, xgboost, pandas and skops holds millions of
    objects; the collections the interpreter makes while it shuts down walk them all,
    about half a second of CPU after the work is done. Frozen, they are left to the
    operating system. Exit hooks still run (log files are flushed and closed) and every
    file mlconf writes is closed before it is renamed into place."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however often main() runs in one process
    atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in WARM_COMMANDS and argv is None:
        code = run_warm(args)  # a warm process runs it, if one is there (`mlconf warm`)
        if code is not None:
            return code
    return run_command(args)


def run_command(args: list[str]) -> int:
    """Run `mlconf <args>` in this process: its exit code."""
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from mlconf import __version__

        sys.stdout.write(f"mlconf {__version__}\n")
        return 0
    command, rest = args[0], args[1:]
    handlers = {
        "train": _train,
        "plugins": _plugins,
        "init": _init,
        "schema": _schema,
        "report": _report,
        "models": _models,
        "predict": _predict,
        "serve": _serve,
        "monitor": _monitor,
        "warm": _warm,
    }
    if command not in handlers:
        from mlconf.core.errors import did_you_mean

        sys.stderr.write(
            f"mlconf: error: unknown command '{command}'.{did_you_mean(command, handlers)}\n"
            "Run `mlconf --help` for the commands.\n"
        )
        return 2
    _quick_exit()
    from mlconf.core.interrupts import note_interrupts

    note_interrupts()
    try:
        return handlers[command](rest)
    except MlconfError as exc:
        if _show_traceback():
            sys.stderr.write(format_exception(exc))
        else:
            report_error(exc)
        return exc.exit_code
    except Exception as exc:  # a bug, not a user error: its traceback, credentials masked
        sys.stderr.write(format_exception(exc))
        return 1


def _warm(rest: list[str]) -> int:
    from mlconf.cli.warm_control import warm_command

    return warm_command(rest)


def _train(rest: list[str]) -> int:
    from mlconf.cli.hydra_app import run_hydra_app
    from mlconf.core.background import allow_forked_drawing

    allow_forked_drawing()  # no model has run in this process yet
    return run_hydra_app("train", rest)


def _plugins(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mlconf plugins", description="List registered components."
    )
    parser.add_argument("-k", "--kind", help="only this kind (model, transform, metric, ...)")
    parser.add_argument(
        "-p",
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import your own module first (as listed under `plugins:` in config)",
    )
    ns = parser.parse_args(rest)
    from rich.table import Table

    from mlconf.core.component_registry import KINDS, REGISTRY
    from mlconf.core.tables_out import print_table

    if ns.kind and ns.kind not in KINDS:
        from mlconf.core.errors import did_you_mean

        raise MlconfError(
            f"unknown kind '{ns.kind}'.{did_you_mean(ns.kind, KINDS)}",
            fix=f"use one of: {', '.join(KINDS)}",
        )
    sys.path.insert(0, str(Path.cwd()))
    REGISTRY.import_plugins(ns.plugin)
    table = Table(title="registered components")
    for column in ("kind", "name", "origin", "summary"):
        table.add_column(column)
    for component in REGISTRY:
        if ns.kind and component.kind != ns.kind:
            continue
        table.add_row(component.kind, component.name, component.origin, component.summary)
    print_table(table)
    return 0


def _init(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mlconf init", description="Scaffold a project folder with a working conf/."
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder")
    ns = parser.parse_args(rest)
    from mlconf.cli.scaffold import scaffold

    created = scaffold(ns.directory, force=ns.force)
    sys.stdout.write(f"created {len(created)} files in {ns.directory}:\n")
    for path in created:
        sys.stdout.write(f"  {path.relative_to(ns.directory)}\n")
    sys.stdout.write(f"\nnext:\n  cd {ns.directory}\n  mlconf train experiment=example\n")
    return 0


def _schema(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlconf schema", description="Schema tools.")
    sub = parser.add_subparsers(dest="action", required=True)
    infer = sub.add_parser("infer", help="write a starter schema YAML from a data file")
    infer.add_argument("path", help="a CSV or Parquet file")
    infer.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    infer.add_argument(
        "--max-allowed", type=int, default=20, help="list allowed values up to this many"
    )
    ns = parser.parse_args(rest)
    from mlconf.components.sources import csv, parquet
    from mlconf.ml.validation import infer_schema, schema_yaml
    from mlconf.store.atomic import write_text

    if ns.output and ns.output.is_dir():
        raise MlconfError(
            f"'{ns.output}' is a folder", where="-o/--output", fix="name a file: -o schema.yaml"
        )
    reader = parquet if str(ns.path).endswith((".parquet", ".pq")) else csv
    frame = reader(ns.path)
    text = schema_yaml(infer_schema(frame, max_allowed=ns.max_allowed), source=ns.path)
    if ns.output:
        try:
            write_text(ns.output, text)
        except OSError as exc:
            raise MlconfError(
                f"cannot write '{ns.output}': {exc.strerror}",
                where="-o/--output",
                fix="give -o a file path in a folder you can write to",
            ) from exc
        sys.stderr.write(f"wrote {ns.output} ({frame.shape[1]} columns); review it before use\n")
    else:
        sys.stdout.write(text)
    return 0


def _serve(rest: list[str]) -> int:
    from mlconf.serve.command import USAGE, serve_job

    return _composed("serve", rest, serve_job, USAGE)


def _composed(command: str, rest: list[str], job: Any, usage: str) -> int:
    """A command that composes its primary config like train, with its short forms."""
    if any(a in ("-h", "--help") for a in rest):
        sys.stdout.write(usage)
        return 0
    from mlconf.cli.hydra_app import run_hydra_app

    return run_hydra_app(command, rest, job)


def _monitor(rest: list[str]) -> int:
    from mlconf.monitoring.jobs import USAGE, history_job, monitor_job

    if rest and rest[0] == "history":
        return _composed("monitor", rest[1:], history_job, USAGE)
    # --watch is mlconf's flag, not Hydra's: it sets monitoring.watch.
    words = ["monitoring.watch=true" if a == "--watch" else a for a in rest]
    return _composed("monitor", words, monitor_job, USAGE)


def _report(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mlconf report",
        description="Rebuild report.html and model_card.md from a run folder (no retraining); "
        "given a sweep folder, rebuild its sweep_report.html.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--max-image-px", type=int, default=900, help="scale wider plots down to this width"
    )
    ns = parser.parse_args(rest)
    from mlconf.report import build_report, build_sweep_report, write_model_card

    folder: Path = ns.run_dir
    if (folder / "sweep_summary.csv").is_file() and not (folder / "run.json").is_file():
        sys.stdout.write(f"wrote {build_sweep_report(folder)}\n")
        return 0
    sys.stdout.write(f"wrote {build_report(folder, max_image_px=ns.max_image_px)}\n")
    sys.stdout.write(f"wrote {write_model_card(folder)}\n")
    return 0


def _models(rest: list[str]) -> int:
    from mlconf.cli.models import main as models_main

    return models_main(rest)


def _predict(rest: list[str]) -> int:
    from mlconf.deploy.batch import HELP, predict_job

    return _composed("predict", rest, predict_job, HELP)


if __name__ == "__main__":
    raise SystemExit(main())
