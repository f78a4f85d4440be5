"""The model registry: named models, numbered versions, aliases and an audit trail.

One SQLAlchemy database (`sqlite:///experiments/mlconf.db` by default, any URL by
config) holds four tables, created on first use:

- `models`: one row per model name;
- `model_versions`: a version per registration, with the run folder, the model folder,
  the pipeline's sha256 from the manifest, metrics, schema, data fingerprints, parent
  version, status (active | archived), whether it was forced past failing criteria;
- `aliases`: `name@alias -> version` (`candidate`, `production`, ... are just aliases);
- `audit`: every register, promote, rollback and archive: when, who, from, to.

Version numbers are allocated inside the write transaction (SQLite: `BEGIN IMMEDIATE`,
elsewhere a unique constraint and a retry), so concurrent registrations get distinct
numbers. Promotion and rollback are single transactions.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlconf import strict_json
from mlconf.errors import MlconfError, did_you_mean
from mlconf.names import check_name
from mlconf.secrets import mask_text, mask_url

if TYPE_CHECKING:
    import sqlalchemy as sa

    from mlconf.store.artifacts import TrainedModel

T = TypeVar("T")

ACTIVE = "active"
ARCHIVED = "archived"
PRODUCTION = "production"
# Audit actions that move an alias; rollback undoes the latest of them.
MOVES = ("register", "promote")
LOCK_RETRIES = 5
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, as stored in the registry."""

    name: str
    version: int
    model_dir: Path
    run_dir: Path
    sha256: str
    aliases: tuple[str, ...]
    metrics: dict[str, Any]
    status: str
    created_at: str
    forced: bool = False
    criteria_passed: bool | None = None
    parent_version: int | None = None
    schema: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _who(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    import sqlalchemy as sa

    models = sa.Table(
        "models",
        metadata,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    versions = sa.Table(
        "model_versions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), sa.ForeignKey("models.name"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_dir", sa.Text, nullable=False),
        sa.Column("model_dir", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("fingerprints", sa.Text, nullable=False),
        sa.Column("parent_version", sa.Integer, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("criteria_passed", sa.Boolean, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_version"),
    )
    aliases = sa.Table(
        "aliases",
        metadata,
        sa.Column("name", sa.String(200), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("alias", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    audit = sa.Table(
        "audit",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(200), nullable=True),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        # JSON: the numbers behind a decision (retrain, promote by a monitor); optional
        sa.Column("details", sa.Text, nullable=True),
    )
    return {"models": models, "versions": versions, "aliases": aliases, "audit": audit}


class ModelRegistry:
    """Models, versions, aliases and their audit trail in one SQLAlchemy database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._tables: dict[str, sa.Table] = {}
        self._sqlite_file = _sqlite_file(url)

    # -- connection ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        """The URL as a person should read it: a SQLite file as its absolute path."""
        if self._sqlite_file is not None and not self._sqlite_file.is_absolute():
            return f"{self.url} ({self._sqlite_file.resolve()})"
        return str(mask_url(self.url))

    def exists(self) -> bool:
        """False only for a SQLite file that is not there yet (servers always exist)."""
        return self._sqlite_file is None or self._sqlite_file.is_file()

    @property
    def engine(self) -> sa.Engine:
        """The database engine (tables created on first use); the prediction log shares it."""
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> sa.Engine:
        import sqlalchemy as sa
        from sqlalchemy import event

        if self._sqlite_file is not None:
            self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = sa.create_engine(self.url, future=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise MlconfError(
                f"cannot open the model registry at {mask_url(self.url)!s}: {exc}",
                where="config key deploy.registry_url (or --registry-url)",
                fix="use a SQLAlchemy URL such as sqlite:///experiments/mlconf.db or "
                "postgresql+psycopg://user:pw@host/db (with its driver installed)",
            ) from exc
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # We issue BEGIN ourselves, so writers can take the lock up front.
                dbapi_conn.isolation_level = None
                cursor = dbapi_conn.cursor()
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: sa.Connection) -> None:
                write = conn.get_execution_options().get("mlconf_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        metadata = sa.MetaData()
        self._tables = _tables(metadata)
        from mlconf.store.db import create_tables

        self._guard(lambda: create_tables(metadata, engine))
        self._guard(lambda: _add_details_column(engine))
        return engine

    @property
    def _t(self) -> dict[str, sa.Table]:
        self.engine  # noqa: B018 - creates the tables on first use
        return self._tables

    def _guard(self, action: Callable[[], T]) -> T:
        """Run a database action; retry while locked, then fail with the URL and the fix."""
        import sqlalchemy as sa

        for attempt in range(LOCK_RETRIES):
            try:
                return action()
            except sa.exc.DatabaseError as exc:  # OperationalError (locked) is one too
                text = str(exc.orig).lower()
                if "locked" not in text and "busy" not in text:
                    raise MlconfError(
                        f"the model registry at {self.where} failed: {exc.orig}",
                        fix="check the URL, that the database server is reachable, and the "
                        "file's permissions (deploy.registry_url or --registry-url)",
                    ) from exc
                if attempt == LOCK_RETRIES - 1:
                    raise MlconfError(
                        f"the model registry at {self.where} is locked by another process "
                        f"(still after {LOCK_RETRIES} tries of {BUSY_TIMEOUT_MS // 1000}s)",
                        fix="wait for the other mlconf command to finish and retry; for many "
                        "concurrent writers use a PostgreSQL URL in deploy.registry_url",
                    ) from exc
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def _require(self) -> None:
        if not self.exists():
            raise MlconfError(
                f"no registry at {self.where}; train a model first",
                fix="run `mlconf train` in this folder (it registers the model), or point "
                "--registry-url / deploy.registry_url at the existing registry",
            )

    @contextmanager
    def _write(self, name: str | None = None) -> Iterator[sa.Connection]:
        """A write transaction; on a server, holding model `name`'s row lock throughout.

        SQLite serializes writers already (BEGIN IMMEDIATE). PostgreSQL's default isolation
        would let two promotions read the same alias and record a broken audit chain, so
        writers of one model queue on its row (SELECT ... FOR UPDATE).
        """
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            conn = conn.execution_options(mlconf_write=True)
            with conn.begin():
                if name is not None and conn.dialect.name != "sqlite":
                    models = self._t["models"]
                    conn.execute(sa.select(models.c.name).filter_by(name=name).with_for_update())
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        self._require()
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- writes -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        run_dir: Path,
        model_dir: Path,
        *,
        alias: str | None,
        forced: bool,
        metrics: dict[str, Any],
        criteria_passed: bool | None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Add the model folder as the next version of `name`; point `alias` at it."""
        from mlconf.store.artifacts import read_manifest

        _check_name(name, "model name", "deploy.model_name")
        if alias is not None:
            _check_name(alias, "alias", "deploy.register.alias")
        model_dir, run_dir = Path(model_dir).resolve(), Path(run_dir).resolve()
        manifest = read_manifest(model_dir)
        row = {
            "name": name,
            "run_dir": str(run_dir),
            "model_dir": str(model_dir),
            "sha256": _pipeline_sha256(manifest, model_dir),
            "metrics": strict_json.dumps(metrics),
            "schema": strict_json.dumps(_schema_of(manifest)),
            "fingerprints": strict_json.dumps(_fingerprints(run_dir, manifest)),
            "status": ACTIVE,
            "forced": bool(forced),
            "criteria_passed": criteria_passed,
        }
        version = self._guard(lambda: self._allocate(row, alias, _who(actor)))
        return self.resolve(f"{name}:{version}")

    def _allocate(self, row: dict[str, Any], alias: str | None, who: str) -> int:
        """Insert the next version; a concurrent writer that took the number makes us retry.

        SQLite serializes writers (BEGIN IMMEDIATE), so this only loops on servers such as
        PostgreSQL, where the unique (name, version) constraint catches the race.
        """
        import sqlalchemy as sa

        for attempt in range(LOCK_RETRIES):
            try:
                return self._insert_version(row, alias, who)
            except sa.exc.IntegrityError:
                if attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _insert_version(self, row: dict[str, Any], alias: str | None, who: str) -> int:
        import sqlalchemy as sa

        t = self._t
        name = row["name"]
        with self._write(name) as conn:
            now = _now()
            if conn.execute(sa.select(t["models"].c.name).filter_by(name=name)).first() is None:
                conn.execute(sa.insert(t["models"]).values(name=name, created_at=now))
            latest = conn.execute(
                sa.select(sa.func.max(t["versions"].c.version)).filter_by(name=name)
            ).scalar()
            version = (latest or 0) + 1
            parent = self._alias_version(conn, name, PRODUCTION) or latest
            conn.execute(
                sa.insert(t["versions"]).values(
                    **row, version=version, parent_version=parent, created_at=now
                )
            )
            previous = self._alias_version(conn, name, alias) if alias else None
            if alias:
                self._set_alias(conn, name, alias, version)
            self._audit(conn, who, "register", name, alias, previous, version)
        return version

    def record(
        self,
        name: str,
        action: str,
        details: dict[str, Any],
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        alias: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Write a decision (e.g. a retrain) to the audit trail with the numbers behind it."""
        self._require()

        def write() -> None:
            with self._write(name) as conn:
                self._known_model(conn, name)
                self._audit(
                    conn, _who(actor), action, name, alias, from_version, to_version, details
                )

        self._guard(write)

    def promote(self, name: str, version: int, alias: str, actor: str | None = None) -> None:
        """Point `name@alias` at `version`, in one transaction, recorded in the audit."""
        _check_name(alias, "alias", "ALIAS")
        self._require()

        def move() -> None:
            with self._write(name) as conn:
                self._active_version(conn, name, version, "promote")
                previous = self._alias_version(conn, name, alias)
                if previous == version:
                    return
                self._set_alias(conn, name, alias, version)
                self._audit(conn, _who(actor), "promote", name, alias, previous, version)

        self._guard(move)

    def rollback(self, name: str, alias: str, actor: str | None = None) -> ModelVersion:
        """Move `name@alias` back to where it pointed before its latest promotion."""
        self._require()

        def move() -> int:
            with self._write(name) as conn:
                current = self._alias_version(conn, name, alias)
                if current is None:
                    self._known_model(conn, name)
                    raise self._unknown_alias(conn, name, alias)
                target = self._rollback_target(conn, name, alias)
                if target is None:
                    raise MlconfError(
                        f"{name}@{alias} has no earlier version to roll back to: it was "
                        "first set by its latest promotion",
                        fix=f"promote a version explicitly: mlconf models promote {name} "
                        f"VERSION {alias}",
                    )
                self._active_version(conn, name, target, "roll back to")
                self._set_alias(conn, name, alias, target)
                self._audit(conn, _who(actor), "rollback", name, alias, current, target)
                return target

        target = self._guard(move)
        return self.resolve(f"{name}:{target}")

    def archive(self, name: str, version: int, actor: str | None = None) -> None:
        """Retire a version: it keeps its history but cannot be promoted or resolved latest."""
        import sqlalchemy as sa

        self._require()
        t = self._t

        def retire() -> None:
            with self._write(name) as conn:
                self._active_version(conn, name, version, "archive")
                held = self._aliases_of(conn, name).get(version, ())
                if held:
                    raise MlconfError(
                        f"{name}:{version} still holds the alias(es) {', '.join(held)}",
                        fix=f"point them at another version first (mlconf models promote "
                        f"{name} VERSION {held[0]}), then archive it",
                    )
                conn.execute(
                    sa.update(t["versions"])
                    .filter_by(name=name, version=version)
                    .values(status=ARCHIVED)
                )
                self._audit(conn, _who(actor), "archive", name, None, version, None)

        self._guard(retire)

    # -- reads --------------------------------------------------------------------------

    def resolve(self, ref: str) -> ModelVersion:
        """`name@alias`, `name:3` or `name` (its latest active version) -> the version."""
        import sqlalchemy as sa

        name, alias, number = parse_ref(ref)

        def find() -> ModelVersion:
            with self._read() as conn:
                tv = self._t["versions"]
                self._known_model(conn, name)
                if alias is not None:
                    version = self._alias_version(conn, name, alias)
                    if version is None:
                        raise self._unknown_alias(conn, name, alias)
                elif number is not None:
                    version = number
                else:
                    version = conn.execute(
                        sa.select(sa.func.max(tv.c.version)).filter_by(name=name, status=ACTIVE)
                    ).scalar()
                    if version is None:
                        raise MlconfError(
                            f"model '{name}' has no active version (all are archived)",
                            fix=f"name a version explicitly: {name}:VERSION",
                        )
                found = self._rows(conn, name, version)
                if not found:
                    known = [v.version for v in self._rows(conn, name)]
                    raise MlconfError(
                        f"model '{name}' has no version {version}",
                        fix=f"use one of its versions: {', '.join(map(str, known))}",
                    )
                return found[0]

        return self._guard(find)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), ordered by name and version."""

        def read() -> list[ModelVersion]:
            with self._read() as conn:
                if name is not None:
                    self._known_model(conn, name)
                return self._rows(conn, name)

        return self._guard(read)

    def audit(self, name: str | None = None) -> list[dict[str, Any]]:
        """The audit trail, oldest first: at, who, action, name, alias, from, to, details."""
        import sqlalchemy as sa

        def read() -> list[dict[str, Any]]:
            with self._read() as conn:
                ta = self._t["audit"]
                query = sa.select(ta).order_by(ta.c.id)
                if name is not None:
                    query = query.filter_by(name=name)
                rows = [dict(r._mapping) for r in conn.execute(query)]
                for row in rows:
                    row["details"] = json.loads(row["details"]) if row.get("details") else None
                return rows

        return self._guard(read)

    # -- helpers inside a transaction ---------------------------------------------------

    def _rows(
        self, conn: sa.Connection, name: str | None, version: int | None = None
    ) -> list[ModelVersion]:
        import sqlalchemy as sa

        tv = self._t["versions"]
        query = sa.select(tv).order_by(tv.c.name, tv.c.version)
        if name is not None:
            query = query.filter_by(name=name)
        if version is not None:
            query = query.filter_by(version=version)
        rows = conn.execute(query).all()
        aliases: dict[tuple[str, int], list[str]] = {}
        for r in conn.execute(sa.select(self._t["aliases"]).order_by("alias")):
            aliases.setdefault((r.name, r.version), []).append(r.alias)
        return [
            ModelVersion(
                name=r.name,
                version=r.version,
                model_dir=Path(r.model_dir),
                run_dir=Path(r.run_dir),
                sha256=r.sha256,
                aliases=tuple(aliases.get((r.name, r.version), ())),
                metrics=json.loads(r.metrics),
                status=r.status,
                created_at=r.created_at,
                forced=bool(r.forced),
                criteria_passed=r.criteria_passed,
                parent_version=r.parent_version,
                schema=json.loads(r.schema),
                fingerprints=json.loads(r.fingerprints),
            )
            for r in rows
        ]

    def _known_model(self, conn: sa.Connection, name: str) -> None:
        import sqlalchemy as sa

        names = list(conn.execute(sa.select(self._t["models"].c.name)).scalars())
        if name not in names:
            raise MlconfError(
                f"no model named '{name}' in the registry at {self.where}."
                f"{did_you_mean(name, names)}",
                fix=f"registered models: {', '.join(sorted(names)) or 'none yet'}",
            )

    def _alias_version(self, conn: sa.Connection, name: str, alias: str) -> int | None:
        import sqlalchemy as sa

        ta = self._t["aliases"]
        return conn.execute(sa.select(ta.c.version).filter_by(name=name, alias=alias)).scalar()

    def _aliases_of(self, conn: sa.Connection, name: str) -> dict[int, tuple[str, ...]]:
        import sqlalchemy as sa

        found: dict[int, tuple[str, ...]] = {}
        ta = self._t["aliases"]
        for r in conn.execute(sa.select(ta).filter_by(name=name).order_by(ta.c.alias)):
            found[r.version] = (*found.get(r.version, ()), r.alias)
        return found

    def _unknown_alias(self, conn: sa.Connection, name: str, alias: str) -> MlconfError:
        known = sorted(a for held in self._aliases_of(conn, name).values() for a in held)
        return MlconfError(
            f"model '{name}' has no alias '{alias}'.{did_you_mean(alias, known)}",
            fix=f"known aliases of {name}: {', '.join(known) or 'none'}; set one with "
            f"`mlconf models promote {name} VERSION {alias}`",
        )

    def _active_version(self, conn: sa.Connection, name: str, version: int, verb: str) -> None:
        import sqlalchemy as sa

        self._known_model(conn, name)
        tv = self._t["versions"]
        status = conn.execute(sa.select(tv.c.status).filter_by(name=name, version=version)).scalar()
        if status is None:
            known = conn.execute(sa.select(tv.c.version).filter_by(name=name)).scalars()
            raise MlconfError(
                f"model '{name}' has no version {version}",
                fix=f"use one of its versions: {', '.join(map(str, known))}",
            )
        if status != ACTIVE:
            raise MlconfError(
                f"cannot {verb} {name}:{version}: it is {status}",
                fix="pick an active version (mlconf models list " + name + ")",
            )

    def _set_alias(self, conn: sa.Connection, name: str, alias: str, version: int) -> None:
        import sqlalchemy as sa

        ta = self._t["aliases"]
        updated = conn.execute(
            sa.update(ta).filter_by(name=name, alias=alias).values(version=version)
        )
        if updated.rowcount == 0:
            conn.execute(sa.insert(ta).values(name=name, alias=alias, version=version))

    def _audit(
        self,
        conn: sa.Connection,
        who: str,
        action: str,
        name: str,
        alias: str | None,
        from_version: int | None,
        to_version: int | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        import sqlalchemy as sa

        conn.execute(
            sa.insert(self._t["audit"]).values(
                at=_now(),
                who=who,
                action=action,
                name=name,
                alias=alias,
                from_version=from_version,
                to_version=to_version,
                details=strict_json.dumps(details) if details is not None else None,
            )
        )

    def _rollback_target(self, conn: sa.Connection, name: str, alias: str) -> int | None:
        """Replay the alias's moves: each promotion pushes where it was, a rollback pops."""
        import sqlalchemy as sa

        ta = self._t["audit"]
        stack: list[int | None] = []
        events = conn.execute(sa.select(ta).filter_by(name=name, alias=alias).order_by(ta.c.id))
        for event in events:
            if event.action in MOVES:
                stack.append(event.from_version)
            elif event.action == "rollback" and stack:
                stack.pop()
        return stack[-1] if stack else None


# -- refs, manifests ----------------------------------------------------------------------


def _add_details_column(engine: sa.Engine) -> None:
    """Registries made before the audit table had `details` get the column (nullable)."""
    import sqlalchemy as sa

    columns = {c["name"] for c in sa.inspect(engine).get_columns("audit")}
    if "details" not in columns:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("ALTER TABLE audit ADD COLUMN details TEXT")


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """`name@alias` -> (name, alias, None); `name:3` -> (name, None, 3); `name` -> latest."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        _check_name(name, "model name", f"model reference '{ref}'")
        _check_name(alias, "alias", f"model reference '{ref}'")
        return name, alias, None
    if ":" in ref:
        name, _, number = ref.rpartition(":")
        _check_name(name, "model name", f"model reference '{ref}'")
        if not number.isdigit() or int(number) < 1:
            raise MlconfError(
                f"'{number}' is not a version number",
                where=f"model reference '{ref}'",
                fix="write NAME:VERSION with a whole number >= 1, NAME@ALIAS, or NAME",
            )
        return name, None, int(number)
    _check_name(ref, "model name", f"model reference '{ref}'")
    return ref, None, None


def _check_name(value: str, kind: str, where: str) -> None:
    """Names and aliases also name folders (experiments/<name>/...): no @ : / \\ .. NUL."""
    check_name(value, where, kind=kind, forbidden="@:")


def _pipeline_sha256(manifest: dict[str, Any], model_dir: Path) -> str:
    from mlconf.store.artifacts import MANIFEST_FILE, PIPELINE_FILE

    digest = manifest.get("files", {}).get(PIPELINE_FILE)
    if not digest:
        raise MlconfError(
            f"{model_dir / MANIFEST_FILE} has no sha256 for {PIPELINE_FILE}",
            fix="register a model folder written by this version of mlconf",
        )
    return str(digest)


def _schema_of(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("task", "target", "classes", "input_columns", "positive_class", "schema")
    return {key: manifest.get(key) for key in keys}


def _fingerprints(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The data fingerprints from run.json (else from the manifest's copy)."""
    try:
        record = json.loads((run_dir / "run.json").read_text())
        return dict(record.get("fingerprints") or {})
    except (OSError, json.JSONDecodeError):
        return dict(manifest.get("data") or {})


def _sqlite_file(url: str) -> Path | None:
    """The database file of a file-backed SQLite URL (relative to the working folder)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise MlconfError(
            f"'{mask_text(url)}' is not a database URL: {mask_text(str(exc))}",
            where="config key deploy.registry_url (or --registry-url)",
            fix="use e.g. sqlite:///experiments/mlconf.db or postgresql+psycopg://u:pw@host/db",
        ) from exc
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def open_model(ref_or_path: str, registry_url: str) -> tuple[TrainedModel, ModelVersion | None]:
    """Load a model folder, or a registered version (`name@alias`, `name:3`, `name`).

    A registry version's pipeline must still have the sha256 it was registered with;
    load_model then checks every file against the manifest.
    """
    from mlconf.store.artifacts import MANIFEST_FILE, load_model

    path = Path(ref_or_path).expanduser()
    looks_like_path = any(sep in ref_or_path for sep in ("/", "\\")) or ref_or_path.startswith(".")
    if path.is_file() or (path / MANIFEST_FILE).is_file() or (path.exists() and looks_like_path):
        return load_model(path), None
    if looks_like_path:
        raise MlconfError(
            f"model folder '{path}' does not exist (looked relative to {Path.cwd()})",
            fix="pass a run's model/ folder, or a registered model as NAME@ALIAS, "
            "NAME:VERSION or NAME",
        )
    registry = ModelRegistry(registry_url)
    version = registry.resolve(ref_or_path)
    if not version.model_dir.is_dir():
        raise MlconfError(
            f"{version.ref} is registered at {version.model_dir}, but that folder is gone",
            fix="restore the run folder, or promote another version",
        )
    model = load_model(version.model_dir)
    actual = _pipeline_sha256(model.manifest, version.model_dir)
    if actual != version.sha256:
        raise MlconfError(
            f"{version.ref}: the model folder {version.model_dir} holds a pipeline with "
            f"sha256 {actual[:12]}..., but {version.sha256[:12]}... was registered",
            fix="the folder was replaced after registration; restore it or register it anew",
        )
    return model, version
