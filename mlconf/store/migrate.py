"""Bring mlconf's database to the schema this code expects: create, adopt, upgrade, refuse.

- At the current revision: nothing to do, after one query (no alembic import).
- New (none of mlconf's tables): created at the current layout and stamped.
- Tables but no version table (written before the schema was versioned): the layout is
  checked, stamped as revision 0001, then upgraded.
- An older revision: upgraded by the migrations in mlconf/store/migrations/versions.
- A revision this code does not know: a newer mlconf wrote it; refused with the fix.

Several processes may open one database at once (serving workers, a monitor, a training
run), so the check and the upgrade run under a lock: PostgreSQL's transaction-scoped
advisory lock, SQLite's write lock (BEGIN IMMEDIATE). The others wait, then find it done.
DDL is transactional on both, so an upgrade that fails leaves the old layout intact.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_url
from mlconf.store.db import BUSY_TIMEOUT_MS, make_engine, sqlite_file
from mlconf.store.schema import REVISION, VERSION_TABLE

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

log = logging.getLogger("mlconf.store.migrate")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: "mlconf" in ASCII, the same for every mlconf process
ADVISORY_LOCK = int.from_bytes(b"mlconf", "big")
# Waiting for another process's migration: a large table copy on SQLite may take a while.
MIGRATION_WAIT_MS = 300_000


def open_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sa.Engine:
    """An engine for `url` whose database is at the current schema (created or upgraded).

    A current database costs one query; older ones are migrated once, under a lock.
    """
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    try:
        ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def ensure_schema(engine: sa.Engine) -> str | None:
    """Create or upgrade the database: the revision this call started from ("new",
    "unversioned", "0001", ...), or None when it was current (or another process did it)."""
    if current_revision(engine) == REVISION:
        return None
    return _upgrade_locked(engine)


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision stamped in the database; None when it has no version table."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        try:
            return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
            text = str(exc.orig)
            if "no such table" in text or "does not exist" in text:
                return None
            raise


def script_directory() -> ScriptDirectory:
    """The migrations shipped in the package, found from an alembic Config built in code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return ScriptDirectory.from_config(config)


def _upgrade_locked(engine: sa.Engine) -> str | None:
    """Take the lock on a connection of its own, then check again and upgrade."""

    url = engine.url.render_as_string(hide_password=False)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and sqlite_file(url) is None:  # in memory: only this engine sees the database
        migrator = engine
    else:
        from sqlalchemy.pool import NullPool

        # SQLite must not check foreign keys while a migration copies a referenced table
        migrator = make_engine(
            url, foreign_keys=False, busy_timeout_ms=MIGRATION_WAIT_MS, poolclass=NullPool
        )
    try:
        with migrator.connect() as conn:
            conn = conn.execution_options(mlconf_write=True)  # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
                return _upgrade(conn)
    finally:
        if migrator is not engine:
            migrator.dispose()


def _upgrade(conn: sa.Connection) -> str | None:
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from mlconf.store import schema

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    current = context.get_current_revision()
    if current == REVISION:
        return None  # another process upgraded it while we waited for the lock
    script = script_directory()
    where = str(mask_url(conn.engine.url.render_as_string(hide_password=False)))
    if current is None:
        present = set(sa.inspect(conn).get_table_names()) & set(schema.metadata.tables)
        if not present:
            schema.metadata.create_all(conn)
            context.stamp(script, REVISION)
            return "new"
        _check_unversioned(conn, present, script, where)
    elif current not in {rev.revision for rev in script.walk_revisions()}:
        raise _newer(current, where)
    steps = list(script.iterate_revisions(REVISION, current or "base"))
    for step in reversed(steps):
        with Operations.context(context):
            step.module.upgrade()
        context.stamp(script, step.revision)
    log.info("upgraded the database at %s from %s to %s", where, current or "unversioned", REVISION)
    return current or "unversioned"


def _check_unversioned(
    conn: sa.Connection, present: set[str], script: ScriptDirectory, where: str
) -> None:
    """Tables written before versioning must be the ones revision 0001 describes."""
    import sqlalchemy as sa

    first = script.get_revision("0001")
    layout: dict[str, set[str]] = first.module.LAYOUT
    inspector = sa.inspect(conn)
    for table in sorted(present):
        found = {column["name"] for column in inspector.get_columns(table)}
        missing = layout[table] - found
        if missing:
            raise MlconfError(
                f"the database at {where} has a table '{table}' without the column(s) "
                f"{', '.join(sorted(missing))}: it was not written by mlconf",
                where="config key deploy.registry_url (or --registry-url)",
                fix="point deploy.registry_url at mlconf's own database (or a new one), or "
                f"rename the table '{table}' in this database",
            )


def _newer(current: str, where: str) -> MlconfError:
    from mlconf.core.distribution import install_hint, installed_version

    mine = installed_version()
    return MlconfError(
        f"the database at {where} has schema revision '{current}', which this mlconf "
        f"({mine}, schema revision '{REVISION}') does not know: a newer mlconf wrote it",
        where="config key deploy.registry_url (or --registry-url)",
        fix=f"upgrade mlconf ({install_hint(upgrade=True)}) to the version that wrote the "
        "database; older mlconf cannot read it safely",
    )
