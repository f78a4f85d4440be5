"""The database schema and its migrations: a registry written by mlconf at fd62e73 (the
fixture, see tests/fixtures/make_legacy_db.py) opens with today's code, is upgraded once
even when two processes open it together, and lists, shows, serves and monitors as before;
new databases start at the newest revision; a newer database is refused with the fix."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import cli, output_of

from mlconf.core.errors import MlconfError
from mlconf.store import schema
from mlconf.store.migrate import current_revision, ensure_schema, open_engine, script_directory

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legacy_fd62e73"
TEXT_TIMES = {  # the timestamps fd62e73 kept as ISO text: table -> column
    "models": "created_at",
    "model_versions": "created_at",
    "audit": "at",
    "monitor_runs": "created_at",
    "monitor_rule_state": "fired_at",
}


def legacy_copy(folder: Path) -> str:
    """The fixture in `folder`, its registered paths pointing there; its SQLite URL."""
    shutil.copytree(FIXTURE, folder, dirs_exist_ok=True)
    root = (FIXTURE / "ROOT").read_text().strip()
    conn = sqlite3.connect(folder / "mlconf.db")
    with conn:
        for column in ("run_dir", "model_dir"):
            conn.execute(
                f"UPDATE model_versions SET {column} = replace({column}, ?, ?)",  # noqa: S608
                (root, str(folder)),
            )
    conn.close()
    return f"sqlite:///{folder / 'mlconf.db'}"


def legacy_times(folder: Path) -> dict[str, list[str]]:
    """The ISO text of every legacy timestamp, read without mlconf (before any migration)."""
    conn = sqlite3.connect(folder / "mlconf.db")
    try:
        return {
            table: [r[0] for r in conn.execute(f'SELECT "{col}" FROM {table} ORDER BY rowid')]  # noqa: S608
            for table, col in TEXT_TIMES.items()
        }
    finally:
        conn.close()


def layout_differences(engine: sa.Engine) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": schema.VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, schema.metadata))


@pytest.fixture
def legacy(tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "legacy"
    return legacy_copy(folder), folder


def test_the_code_names_the_newest_migration() -> None:
    assert script_directory().get_current_head() == schema.REVISION


def test_a_new_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path}/sub/new.db")
    assert current_revision(engine) == schema.REVISION
    assert layout_differences(engine) == []
    assert ensure_schema(engine) is None  # already current: nothing to do
    engine.dispose()


def test_the_legacy_database_is_stamped_and_upgraded_to_the_schema(
    legacy: tuple[str, Path],
) -> None:
    url, folder = legacy
    before = legacy_times(folder)
    engine = open_engine(url)
    assert current_revision(engine) == schema.REVISION
    assert layout_differences(engine) == []
    with engine.connect() as conn:
        for table, column in TEXT_TIMES.items():
            stored = conn.execute(sa.select(schema.metadata.tables[table].c[column])).scalars()
            for old, new in zip(before[table], stored, strict=True):
                assert new.tzinfo is not None
                assert new == datetime.fromisoformat(old)
    engine.dispose()


def test_list_show_and_the_audit_read_as_before(legacy: tuple[str, Path]) -> None:
    url, folder = legacy
    before = legacy_times(folder)
    listed = cli(["models", "list", f"--registry-url={url}"], cwd=folder)
    assert listed.returncode == 0, output_of(listed)
    assert "world" in listed.stdout
    assert before["model_versions"][0] in listed.stdout  # the time prints as it did
    shown = cli(["models", "show", "world", "production", f"--registry-url={url}"], cwd=folder)
    assert shown.returncode == 0, output_of(shown)
    assert before["model_versions"][0] in shown.stdout

    from mlconf.store.model_registry import ModelRegistry

    registry = ModelRegistry(url)
    version = registry.resolve("world@production")
    assert version.created_at == before["model_versions"][0]
    audit = registry.audit("world")
    assert [row["at"] for row in audit] == before["audit"]
    assert audit[-1]["details"] == {"reason": "legacy fixture", "labels": 10}


def test_serve_the_legacy_model_and_log_to_the_legacy_log(legacy: tuple[str, Path]) -> None:
    pytest.importorskip("fastapi")
    import httpx
    from serve_helpers import running

    from mlconf.config import ServeConfig
    from mlconf.serve.app import create_app

    url, _ = legacy
    app = create_app("world@production", ServeConfig(reload_interval=None), url)
    with running(app, timeout=120) as base:  # loading the pipeline takes seconds
        response = httpx.post(
            f"{base}/predict", json={"x1": 0.5, "x2": -0.2, "group": "a"}, timeout=60
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["model_name"], result["model_version"]) == ("world", "1")
        pid = result["results"][0]["prediction_id"]
        feedback = httpx.post(
            f"{base}/feedback", json={"prediction_id": pid, "outcome": "yes"}, timeout=60
        )
        assert feedback.status_code < 300, feedback.text
    engine = open_engine(url)
    with engine.connect() as conn:
        logged = conn.execute(sa.select(sa.func.count()).select_from(schema.predictions))
        assert logged.scalar() == 41  # 40 from fd62e73, one now
    engine.dispose()


def test_monitor_the_legacy_log_and_its_history_and_rule_state(
    legacy: tuple[str, Path],
) -> None:
    from mlconf.monitoring import history, rules
    from mlconf.monitoring.command import run_monitor
    from mlconf.store.model_registry import ModelRegistry

    url, folder = legacy
    before = legacy_times(folder)
    result = run_monitor(
        "world@production", registry_url=url, settings={"last": 40}, out_dir=folder / "monitor"
    )
    assert result.summary["current"]["rows"] == 40
    assert "prediction log" in result.summary["current"]["source"]
    registry = ModelRegistry(url)
    runs = history.runs(registry.engine, "world")
    assert len(runs) == 2
    assert runs[-1]["created_at"] == before["monitor_runs"][0]  # printed as it was
    fired = rules.last_fired(registry, "world", "weekly")
    assert fired is not None and fired.isoformat() == before["monitor_rule_state"][0]
    labels = rules.new_labels(registry, "world", fired.replace(year=2000))
    assert labels == 10


def _open_in_process(url: str, start: Any, results: Any) -> None:
    from mlconf.store.db import make_engine

    engine = make_engine(url)
    start.wait(30)
    try:
        results.put(("ok", ensure_schema(engine)))
    except Exception as exc:  # reported to the test
        results.put(("error", repr(exc)))
    finally:
        engine.dispose()


def test_two_processes_open_the_legacy_database_at_once(legacy: tuple[str, Path]) -> None:
    url, _ = legacy
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Event(), spawn.Queue()
    workers = [spawn.Process(target=_open_in_process, args=(url, start, results)) for _ in "ab"]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert all(status == "ok" for status, _ in outcomes), outcomes
    upgraded = [found for _, found in outcomes if found is not None]
    # one upgraded it from the unversioned layout; the other waited, then found it current
    assert upgraded == ["unversioned"]
    engine = open_engine(url)
    assert current_revision(engine) == schema.REVISION
    assert layout_differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.audit)).scalar() == 3
    engine.dispose()


def test_a_database_of_a_newer_mlconf_is_refused_with_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/newer.db"
    open_engine(url).dispose()
    conn = sqlite3.connect(tmp_path / "newer.db")
    with conn:
        conn.execute(f"UPDATE {schema.VERSION_TABLE} SET version_num = '0999'")  # noqa: S608
    conn.close()
    with pytest.raises(MlconfError, match=r"revision '0999'.*newer mlconf") as err:
        open_engine(url)
    assert "upgrade mlconf" in err.value.render()


def test_foreign_tables_of_the_same_name_are_not_adopted(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "other.db")
    with conn:
        conn.execute("CREATE TABLE models (id INTEGER PRIMARY KEY, title TEXT)")
    conn.close()
    with pytest.raises(MlconfError, match="table 'models' without the column"):
        open_engine(f"sqlite:///{tmp_path}/other.db")


def test_a_registry_older_than_audit_details_gets_the_column(tmp_path: Path) -> None:
    url = legacy_copy(tmp_path / "old")
    conn = sqlite3.connect(tmp_path / "old" / "mlconf.db")
    with conn:
        conn.execute("ALTER TABLE audit DROP COLUMN details")
    conn.close()
    from mlconf.store.model_registry import ModelRegistry

    registry = ModelRegistry(url)
    assert [row["details"] for row in registry.audit("world")] == [None, None, None]
    assert layout_differences(registry.engine) == []


def test_postgres_new_legacy_and_concurrent_opens(postgres_url: str) -> None:
    from mlconf.store.db import make_engine

    legacy_module = script_directory().get_revision("0001").module
    metadata = sa.MetaData()
    legacy_module._tables(metadata)
    raw = sa.create_engine(postgres_url)
    with raw.begin() as conn:
        metadata.create_all(conn)
        conn.execute(
            sa.text("INSERT INTO models (name, created_at) VALUES ('m', :at)"),
            {"at": "2026-12-07T00:25:14.123+00:00"},
        )
        conn.execute(
            sa.text("INSERT INTO monitor_rule_state VALUES ('m', 'weekly', :at)"),
            {"at": "2026-12-06T22:28:17.201414+00:00"},
        )
    raw.dispose()

    def open_once(_: int) -> str | None:
        engine = make_engine(postgres_url)
        try:
            return ensure_schema(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(open_once, range(4)))
    assert [f for f in found if f is not None] == ["unversioned"]
    engine = open_engine(postgres_url)
    assert current_revision(engine) == schema.REVISION
    assert layout_differences(engine) == []
    from mlconf.store.model_registry import ModelRegistry

    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(schema.models.c.created_at))
            .scalar()
            .isoformat(timespec="milliseconds")
            == "2026-12-07T00:25:14.123+00:00"
        )
    engine.dispose()
    registry = ModelRegistry(postgres_url)
    from mlconf.monitoring import rules

    fired = rules.last_fired(registry, "m", "weekly")
    assert fired is not None and fired.isoformat() == "2026-12-06T22:28:17.201414+00:00"
    registry.engine.dispose()


def test_revision_0002_downgrades_to_the_text_times_and_back(legacy: tuple[str, Path]) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from mlconf.store.db import make_engine

    url, folder = legacy
    before = legacy_times(folder)
    open_engine(url).dispose()
    script = script_directory()
    engine = make_engine(url, foreign_keys=False)
    with engine.connect() as conn, conn.begin():
        context = MigrationContext.configure(conn, opts={"version_table": schema.VERSION_TABLE})
        with Operations.context(context):
            script.get_revision("0002").module.downgrade()
        context.stamp(script, "0001")
    engine.dispose()
    downgraded = legacy_times(folder)
    for table, values in before.items():
        parsed = [datetime.fromisoformat(v) for v in downgraded[table]]
        assert parsed == [datetime.fromisoformat(v) for v in values], table
    engine = open_engine(url)  # upgrades again
    assert current_revision(engine) == schema.REVISION
    assert layout_differences(engine) == []
    engine.dispose()
