"""The model registry: named models, numbered versions, aliases and an audit trail.

One SQLAlchemy database (`sqlite:///experiments/mlconf.db` by default, any URL by
config) holds four tables of mlconf.store.schema, opened (created or migrated) by
mlconf.store.db.open_engine on first use:

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlconf.core import strict_json
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_url
from mlconf.store.db import BUSY_TIMEOUT_MS, as_text, sqlite_file
from mlconf.store.model_refs import (
    check_ref_name,
    fingerprints,
    parse_ref,
    pipeline_sha256,
    schema_of,
)
from mlconf.store.registry_queries import ACTIVE, ModelVersion, RegistryQueries, now

if TYPE_CHECKING:
    import sqlalchemy as sa

    from mlconf.store.artifacts import TrainedModel


T = TypeVar("T")

__all__ = ["ModelRegistry", "ModelVersion", "open_model", "parse_ref"]

ARCHIVED = "archived"
PRODUCTION = "production"
LOCK_RETRIES = 5


def _who(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class ModelRegistry(RegistryQueries):
    """Models, versions, aliases and their audit trail in one SQLAlchemy database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._sqlite_file = sqlite_file(url)

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
        from mlconf.store.migrate import open_engine

        return self._guard(lambda: open_engine(self.url, busy_timeout_ms=BUSY_TIMEOUT_MS))

    def _guard(self, action: Callable[[], T]) -> T:
        """Run a database action; retry while locked, then fail with the URL and the fix."""
        import sqlalchemy as sa

        from mlconf.core.retry import retry_call

        def locked(exc: BaseException) -> bool:
            text = str(getattr(exc, "orig", exc)).lower()
            return isinstance(exc, sa.exc.DatabaseError) and ("locked" in text or "busy" in text)

        try:
            return retry_call(action, retry_if=locked, attempts=LOCK_RETRIES, first_wait=0.2)
        except sa.exc.DatabaseError as exc:  # OperationalError (locked) is one too
            if locked(exc):
                raise MlconfError(
                    f"the model registry at {self.where} is locked by another process "
                    f"(still after {LOCK_RETRIES} tries of {BUSY_TIMEOUT_MS // 1000}s)",
                    fix="wait for the other mlconf command to finish and retry; for many "
                    "concurrent writers use a PostgreSQL URL in deploy.registry_url",
                ) from exc
            raise MlconfError(
                f"the model registry at {self.where} failed: {exc.orig}",
                fix="check the URL, that the database server is reachable, and the "
                "file's permissions (deploy.registry_url or --registry-url)",
            ) from exc

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

        check_ref_name(name, "model name", "deploy.model_name")
        if alias is not None:
            check_ref_name(alias, "alias", "deploy.register.alias")
        model_dir, run_dir = Path(model_dir).resolve(), Path(run_dir).resolve()
        manifest = read_manifest(model_dir)
        row = {
            "name": name,
            "run_dir": str(run_dir),
            "model_dir": str(model_dir),
            "sha256": pipeline_sha256(manifest, model_dir),
            "metrics": strict_json.dumps(metrics),
            "schema": strict_json.dumps(schema_of(manifest)),
            "fingerprints": strict_json.dumps(fingerprints(run_dir, manifest)),
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

        from mlconf.core.retry import retry_call

        return retry_call(
            lambda: self._insert_version(row, alias, who),
            retry_if=lambda exc: isinstance(exc, sa.exc.IntegrityError),
            attempts=LOCK_RETRIES,
            first_wait=0.05,
        )

    def _insert_version(self, row: dict[str, Any], alias: str | None, who: str) -> int:
        import sqlalchemy as sa

        t = self._t
        name = row["name"]
        with self._write(name) as conn:
            at = now()
            if conn.execute(sa.select(t["models"].c.name).filter_by(name=name)).first() is None:
                conn.execute(sa.insert(t["models"]).values(name=name, created_at=at))
            latest = conn.execute(
                sa.select(sa.func.max(t["versions"].c.version)).filter_by(name=name)
            ).scalar()
            version = (latest or 0) + 1
            parent = self._alias_version(conn, name, PRODUCTION) or latest
            conn.execute(
                sa.insert(t["versions"]).values(
                    **row, version=version, parent_version=parent, created_at=at
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
        check_ref_name(alias, "alias", "ALIAS")
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
                    row["at"] = as_text(row["at"])
                    row["details"] = json.loads(row["details"]) if row.get("details") else None
                return rows

        return self._guard(read)


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
    actual = pipeline_sha256(model.manifest, version.model_dir)
    if actual != version.sha256:
        raise MlconfError(
            f"{version.ref}: the model folder {version.model_dir} holds a pipeline with "
            f"sha256 {actual[:12]}..., but {version.sha256[:12]}... was registered",
            fix="the folder was replaced after registration; restore it or register it anew",
        )
    return model, version
