"""Ctrl-C is honoured even when a library swallowed it.

A KeyboardInterrupt raised inside a Python callback that C code calls is printed as
"Exception ignored on calling ctypes callback function" and lost. xgboost reads a
DataFrame through such a callback while it builds its matrix: Ctrl-C at that moment became
an xgboost error, which tuning counts as one failed trial before it goes on. The command
line's handler also notes the signal, and `raise_if_interrupted`, called between stages and
after every trial, ends the work there as Ctrl-C would have.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_received = threading.Event()


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    _received.set()
    raise KeyboardInterrupt


def note_interrupts() -> None:
    """Let SIGINT raise KeyboardInterrupt as Python's own handler does, and remember it.

    For the command line (its main thread): a library caller's signal handling is its own."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_interrupt)


def raise_if_interrupted(*_args: Any) -> None:
    """Raise KeyboardInterrupt if Ctrl-C came since `note_interrupts` (also an Optuna study
    callback: it takes and ignores the study and the trial)."""
    if _received.is_set():
        raise KeyboardInterrupt
