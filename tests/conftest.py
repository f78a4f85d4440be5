"""Shared fixtures: the `mlconf` command in a subprocess, a scratch working folder and a copy
of the shipped cars table. Constants and helpers live in helpers.py (FAST, CARS, ...)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import CARS, FAST, cli
from postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

__all__ = ["FAST"]


@pytest.fixture
def run_cli() -> Callable[..., Any]:
    """Run the `mlconf` command: run_cli(args, cwd=None, env=None) -> CompletedProcess[str].

    The command runs as `python -m mlconf.cli ARGS` with a timeout; `cwd` defaults to the
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
