"""The one way mlconf opens its database: `open_engine(url)`, shared by every store.

The model registry, the prediction log and the monitor's history and rule state all live in
the database at `deploy.registry_url`; each opens it here, so each gets the same connection
settings and finds the tables at the schema this mlconf expects (see mlconf.store.migrate).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text, mask_url

if TYPE_CHECKING:
    import sqlalchemy as sa

BUSY_TIMEOUT_MS = 10_000
WHERE = "config key deploy.registry_url (or --registry-url)"


def make_engine(
    url: str, *, foreign_keys: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kw: Any
) -> sa.Engine:
    """An engine with mlconf's connection settings, without looking at the schema.

    SQLite: the folder is created; WAL (readers never wait for the writer) and a busy
    timeout; mlconf issues BEGIN itself, so a writer can take the lock up front with the
    execution option `mlconf_write=True` (BEGIN IMMEDIATE) instead of failing on upgrade.
    Servers: connections are checked before use (pool_pre_ping).
    """
    import sqlalchemy as sa

    sqlite_path = sqlite_file(url)
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        is_sqlite = sa.engine.make_url(url).get_backend_name() == "sqlite"
        options = {} if is_sqlite else {"pool_pre_ping": True}
        engine = sa.create_engine(url, **options, **kw)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise MlconfError(
            f"cannot open the model registry at {mask_url(url)!s}: {exc}",
            where=WHERE,
            fix="use a SQLAlchemy URL such as sqlite:///experiments/mlconf.db or "
            "postgresql+psycopg://user:pw@host/db (with its driver installed)",
        ) from exc
    if is_sqlite:
        _sqlite_settings(engine, foreign_keys=foreign_keys, busy_timeout_ms=busy_timeout_ms)
    return engine


def _sqlite_settings(engine: sa.Engine, *, foreign_keys: bool, busy_timeout_ms: int) -> None:
    pragmas = [f"PRAGMA busy_timeout={int(busy_timeout_ms)}", "PRAGMA journal_mode=WAL"]
    if foreign_keys:
        pragmas.append("PRAGMA foreign_keys=ON")

    def begin(conn: sa.Connection) -> str:
        write = conn.get_execution_options().get("mlconf_write", False)
        return "BEGIN IMMEDIATE" if write else "BEGIN"

    sqlite_transactions(engine, begin, pragmas)


def sqlite_transactions(
    engine: sa.Engine, begin: Callable[[sa.Connection], str], pragmas: Sequence[str] = ()
) -> None:
    """Transactions that SQLite's driver does not start late: Python's sqlite3 begins one only
    at the first write, so a read followed by a write on what it read is not atomic. The
    driver emits no BEGIN of its own; each transaction starts with `begin(connection)`
    (`BEGIN IMMEDIATE` takes the write lock at once), and every new connection runs
    `pragmas` first (SQLAlchemy's recipe for pysqlite)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(begin(conn))


def as_text(value: datetime, timespec: str = "milliseconds") -> str:
    """A stored time as the stores return it (ISO 8601 in UTC), so the CLI prints it as ever."""
    return value.astimezone(UTC).isoformat(timespec=timespec)


def sqlite_file(url: str) -> Path | None:
    """The database file of a file-backed SQLite URL (relative to the working folder)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise MlconfError(
            f"'{mask_text(url)}' is not a database URL: {mask_text(str(exc))}",
            where=WHERE,
            fix="use e.g. sqlite:///experiments/mlconf.db or postgresql+psycopg://u:pw@host/db",
        ) from exc
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database)
