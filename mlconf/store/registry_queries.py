"""The model registry's reads and writes inside one transaction: versions as ModelVersion,
aliases, the audit trail and the rollback target it implies.

ModelRegistry (mlconf.store.model_registry) owns the connection and the transactions and
inherits these helpers; they share its tables from mlconf.store.schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core import strict_json
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.store.db import as_text

if TYPE_CHECKING:
    import sqlalchemy as sa

ACTIVE = "active"
# Audit actions that move an alias; rollback undoes the latest of them.
MOVES = ("register", "promote")


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


def now() -> datetime:
    return datetime.now(UTC)


class RegistryQueries:
    """SQL of the registry on a connection in a transaction (the caller commits)."""

    @property
    def where(self) -> str:
        raise NotImplementedError

    @property
    def _t(self) -> dict[str, sa.Table]:
        from mlconf.store import schema

        return {
            "models": schema.models,
            "versions": schema.model_versions,
            "aliases": schema.aliases,
            "audit": schema.audit,
        }

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
                created_at=as_text(r.created_at),
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
                at=now(),
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
