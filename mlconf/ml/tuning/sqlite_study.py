"""A study in a SQLite file that several workers share: what makes that safe."""

from __future__ import annotations

from typing import Any

SQLITE_WAIT = 60  # seconds a worker waits for a SQLite study that another one is writing


def is_sqlite(storage: str) -> bool:
    return storage.startswith("sqlite")


def sqlite_engine_kwargs(storage: str) -> dict[str, Any] | None:
    """SQLAlchemy engine arguments for a SQLite study: wait for another worker's write."""
    return {"connect_args": {"timeout": SQLITE_WAIT}} if is_sqlite(storage) else None


def serialize_transactions(engine: Any) -> None:
    """Make every transaction on a SQLite study take the write lock when it begins.

    Python's sqlite3 starts a transaction only at the first write, so Optuna's "read the
    trial's state, then claim it" ran the read outside any transaction: two workers both
    read an enqueued trial as WAITING, both claimed it and ran it, and the second failed
    with "Cannot tell a COMPLETE trial". SQLAlchemy's recipe for pysqlite: the driver emits
    no BEGIN of its own, and each transaction starts with BEGIN IMMEDIATE, so the second
    worker waits (up to SQLITE_WAIT seconds) and then reads the claimed state."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while creating the tables lack the hooks
