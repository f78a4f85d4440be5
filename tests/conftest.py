"""Shared fixtures: the `mlconf` command in a subprocess, a scratch working folder and a copy
of the shipped cars table. Constants and helpers live in helpers.py (FAST, CARS, ...)."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import CARS, FAST, cli, run_train

if TYPE_CHECKING:
    from mlconf.runner import RunResult
from parquet_engines import parquet_engine_in_use  # noqa: F401 - fixture
from postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

__all__ = ["FAST"]

# Every core already runs a test worker (pytest -n logical): a drawing process per run would
# only add its start-up. Runs here, and the `mlconf` commands they start, draw in a thread;
# tests/test_background.py asks for the process where it tests it.
os.environ.setdefault("MLCONF_DRAWING", "thread")
# A warm process the developer started (`mlconf warm start`) must not run the suite's
# commands; tests/test_warm.py starts warm processes of its own.
os.environ["MLCONF_WARM"] = "0"


@pytest.fixture
def run_cli() -> Callable[..., Any]:
    """Run the `mlconf` command: run_cli(args, cwd=None, env=None) -> CompletedProcess[str].

    The command runs as `python -m mlconf.cli.main ARGS` with a timeout; `cwd` defaults to the
    current directory (the `workdir` fixture sets it).
    """
    return cli


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder that is also the current directory (and so the subprocesses' cwd)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cars_csv(tmp_path: Path) -> Path:
    """A private copy of the shipped cars table (406 rows, missing values, string columns)."""
    target = tmp_path / "cars.csv"
    shutil.copyfile(CARS, target)
    return target


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Sequence[str]], RunResult]:
    """trained(overrides) -> the in-process `train` run with these overrides, made once per test
    process and shared by every test that asks for the same overrides. For tests that only read
    a run's outputs: one that writes into the run folder or registry needs a run of its own."""
    runs: dict[tuple[str, ...], RunResult] = {}

    def get(overrides: Sequence[str]) -> RunResult:
        key = tuple(overrides)
        if key not in runs:
            runs[key] = run_train(key, tmp_path_factory.mktemp("shared_run") / "run")
        return runs[key]

    return get


# --- the kill -9 count of test_crash_safety.py, printed after the run -------------------------

KILLS_SURVIVED = "kill9_survived"  # the attribute (or xdist workeroutput key) holding it


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: add a worker's count to the run's (the module's tests may span workers)."""
    counts = getattr(node, "workeroutput", {}).get(KILLS_SURVIVED)
    if counts:
        total = getattr(node.config, KILLS_SURVIVED, Counter())
        total.update(counts)
        setattr(node.config, KILLS_SURVIVED, total)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    counts: Counter[str] | None = getattr(config, KILLS_SURVIVED, None)
    if counts:
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        terminalreporter.write_line(f"kill -9 trials survived: {counts.total()} ({detail})")
