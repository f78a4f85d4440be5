"""How long this Python process has run: the part of a whole-command budget already spent.

`tune.timeout_from=process` counts `tune.timeout` from the start of the process, so that
`mlconf train ... tune.timeout=60` ends within 60 s of the command's launch, Python's
start-up, imports and data preparation included. Read from Linux's /proc, where the
kernel records each process's start; a fork starts its own count. A process that runs
several commands (a sweep's jobs one after another, a notebook) counts from the end of its
previous run instead (`mark_run_end`, called by the runner).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_last_run_end: float | None = None  # time.monotonic() when this process's last run ended


def mark_run_end() -> None:
    """A run of this process ended: the next run's command starts counting here."""
    global _last_run_end
    _last_run_end = time.monotonic()


def process_age() -> float | None:
    """Seconds since this process started (or since its previous run ended), or None where
    the system does not say (no /proc: macOS, Windows)."""
    if _last_run_end is not None:
        return time.monotonic() - _last_run_end
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # fields after the command name, which is in parentheses and may hold spaces;
        # the start time (field 22, clock ticks after boot) is the 20th of them
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
