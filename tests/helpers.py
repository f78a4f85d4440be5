"""Helpers shared by the end-to-end tests: the CLI in a subprocess, in-process composition and
runs of `train`, and config overrides that point a run at a file of the test's own."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from warm_cli import run_warm

if TYPE_CHECKING:
    from mlconf.runner import RunResult

ROOT = Path(__file__).resolve().parents[1]
CARS = ROOT / "mlconf" / "core" / "datasets" / "cars.csv"

# Few trees and few bootstrap resamples: an end-to-end run takes a few seconds.
# The default metric sets of conf/metrics/default.yaml.
CLASSIFICATION = [
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "mcc",
]
REGRESSION = ["rmse", "mae", "r2", "mape", "median_ae"]

FAST = ["model.params.n_estimators=20", "metrics.bootstrap=20"]
# For runs whose data profile plots and interpretation are not what the test looks at: drawing
# them is about half the CPU of a small run. Every stage still runs (explain writes its "off"
# record); tests of plots and interpretation leave these out. LIGHT suits any model (FAST's
# n_estimators is a parameter of the tree ensembles only).
NO_EXTRAS = ["explore.plots=false", "explain.enabled=false"]
LIGHT = ["metrics.bootstrap=20", *NO_EXTRAS]
LEAN = [*FAST, *NO_EXTRAS]
# Tuning runs: one thread each (xgboost's OpenMP threads stall when another process wants the
# core), two folds, no bootstrap. TUNE_ONLY is for tests that read only the study, trials.csv,
# best_params.json or run.json: the stages tuning needs, no more.
TUNE_FAST = ["metrics.bootstrap=0", "tune.folds=2", "++model.params.n_jobs=1", *NO_EXTRAS]
TUNE_ONLY = ["stages=[load,validate,prepare,split,tune]"]
TRACEBACK = "Traceback (most recent call last)"
CLI_TIMEOUT = 300


def cli(
    args: Sequence[str],
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """`python -m mlconf.cli.main ARGS` in `cwd`, with a wide console and no forced tracebacks
    (forked from a warm process, tests/warm_cli.py; MLCONF_TEST_FRESH_CLI=1 starts each
    command afresh)."""
    full_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MLCONF_TRACEBACK", "HYDRA_FULL_ERROR")
    }
    # A wide console keeps rich from wrapping paths and table rows.
    full_env.update({"COLUMNS": "400", "PYTHONIOENCODING": "utf-8"})
    full_env.update(env or {})
    command = [sys.executable, "-m", "mlconf.cli.main", *args]
    workdir = str(cwd) if cwd is not None else str(Path.cwd())
    # A child of a process that has imported what a run needs (tests/cli_zygote.py): the
    # same command, minus a few seconds of imports per call.
    warm = run_warm(command, list(args), workdir, full_env, timeout)
    if warm is not None:
        return warm
    return subprocess.run(
        command,
        cwd=str(cwd) if cwd is not None else None,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    """Everything the command printed, stdout then stderr."""
    return f"{proc.stdout}\n{proc.stderr}"


def compose_train(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose `train` in-process the way `mlconf train` does."""
    from hydra import compose, initialize_config_dir

    from mlconf.config import store_schemas
    from mlconf.core.paths import conf_dir

    store_schemas()
    OmegaConf.register_new_resolver("mlconf_run_id", lambda: "test", replace=True)
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def csv_data(path: Path | str, name: str = "testdata", kind: str = "csv") -> list[str]:
    """Overrides that make the main source a file of the test's own."""
    return [
        f"data.name={name}",
        f"data.sources.main.kind={kind}",
        f"data.sources.main.path='{path}'",
        "data.sources.main.dataset=null",
    ]


def quiet_console() -> Console:
    """A console that records what a run prints, for assertions on warnings."""
    return Console(file=io.StringIO(), width=400, record=True)


def run_train(overrides: Sequence[str], run_dir: Path, console: Console | None = None) -> RunResult:
    """Compose `train` with the overrides and run it in-process into `run_dir`.

    Unless the overrides say otherwise, the model registry is a SQLite file beside
    `run_dir`, not experiments/mlconf.db under the current folder.
    """
    from mlconf.runner import run

    overrides = list(overrides)
    if not any(o.lstrip("+").startswith("deploy.registry_url=") for o in overrides):
        overrides.append(f"deploy.registry_url=sqlite:///{Path(run_dir).parent / 'mlconf.db'}")
    return run(compose_train(overrides), run_dir=run_dir, console=console or quiet_console())


def promotions(registry: Any, name: str, alias: str = "production") -> list[dict[str, Any]]:
    """The audit rows that moved `name@alias` by promotion, checked to form an unbroken chain:
    each starts where the previous one ended (a lost update would break it)."""
    rows = [
        row for row in registry.audit(name) if row["action"] == "promote" and row["alias"] == alias
    ]
    assert all(row["from_version"] != row["to_version"] for row in rows)
    for before, after in itertools.pairwise(rows):
        assert after["from_version"] == before["to_version"], (before, after)
    return rows
