"""A study in a SQLite file that several workers share: what makes that safe."""

from __future__ import annotations

from typing import Any

SQLITE_WAIT_MS = 60_000  # how long a worker waits for a SQLite study another one is writing


def serialize_transactions(storage: str, engine: Any) -> None:
    """Make every transaction on a file-backed SQLite study take the write lock when it
    begins (nothing for other databases, or an in-memory SQLite one, which lives in the
    one connection that the pool reset below would close).

    Optuna claims an enqueued trial by reading its state and then setting it RUNNING. Python's
    sqlite3 ran that read outside any transaction, so two workers both read an enqueued trial
    as WAITING, both claimed it and ran it, and the second failed with "Cannot tell a
    COMPLETE trial". With BEGIN IMMEDIATE the second worker waits, then reads the claimed
    state. Reads wait on each other too, a small cost for a study's few queries per trial."""
    from mlconf.store.db import sqlite_file, sqlite_transactions

    if sqlite_file(storage) is None:
        return
    sqlite_transactions(
        engine, lambda _connection: "BEGIN IMMEDIATE", [f"PRAGMA busy_timeout={SQLITE_WAIT_MS}"]
    )
    engine.dispose()  # connections opened while creating the tables lack the hooks
