"""Ctrl-C that a C callback swallowed still ends the command (mlconf.core.interrupts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Ctrl-C arrives while C code (here ctypes itself, as in xgboost's DataIter) runs a Python
# callback: the interpreter prints "Exception ignored" and the C code goes on.
_SWALLOWED = """
import ctypes, os, signal, time
from mlconf.core.interrupts import note_interrupts, raise_if_interrupted
if "note" in os.sys.argv:
    note_interrupts()

def read_batch():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)  # the handler runs here, inside the callback
    return 1

callback = ctypes.CFUNCTYPE(ctypes.c_int)(read_batch)
print("callback returned", callback(), flush=True)
raise_if_interrupted()
print("went on", flush=True)
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SWALLOWED, *args], capture_output=True, text=True, check=False
    )


def test_an_interrupt_a_callback_swallowed_ends_the_work_at_the_next_check() -> None:
    swallowed = _run()  # Python's own handler: the interrupt is lost
    assert "Exception ignored" in swallowed.stderr and "KeyboardInterrupt" in swallowed.stderr
    assert "went on" in swallowed.stdout
    noted = _run("note")
    assert "callback returned" in noted.stdout  # swallowed there too...
    assert "went on" not in noted.stdout  # ...but raised at the check
    assert noted.returncode != 0 and noted.stderr.rstrip().endswith("KeyboardInterrupt")


class _NotedAfter:
    """Stands in for the noted-interrupt event: set from its `calls`-th check on."""

    def __init__(self, calls: int) -> None:
        self.checks, self.calls = 0, calls

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks >= self.calls


def test_a_run_stops_between_stages_and_tuning_after_the_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers import TUNE_FAST, TUNE_ONLY, quiet_console, run_train

    from mlconf.core import interrupts

    overrides = ["search=xgboost", "tune.n_trials=3", *TUNE_FAST, *TUNE_ONLY]
    # Noted during the first stage: the run ends after it.
    monkeypatch.setattr(interrupts, "_received", _NotedAfter(1))
    with pytest.raises(KeyboardInterrupt):
        run_train(overrides, tmp_path / "first")
    record = json.loads((tmp_path / "first" / "run.json").read_text())
    assert list(record["stages"]) == ["load"] and record["status"] == "crashed"
    # Noted during tuning's first trial (after the four stages before it): no second trial.
    monkeypatch.setattr(interrupts, "_received", _NotedAfter(5))
    console = quiet_console()
    with pytest.raises(KeyboardInterrupt):
        run_train(overrides, tmp_path / "second", console=console)
    trials = [line for line in console.export_text().splitlines() if "  trial " in line]
    assert len(trials) == 1, trials
