"""The model registry on real SQLite files: versions, aliases, audit, concurrency, errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import ROOT, promotions

from mlconf.core.errors import MlconfError
from mlconf.store.model_registry import ModelRegistry, open_model, parse_ref


def fake_model(folder: Path, digest: str = "ab" * 32) -> Path:
    """A model folder with just enough manifest for the registry (no loadable pipeline)."""
    model = folder / "model"
    model.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": "mlconf-model/1",
        "task": "classification",
        "target": "y",
        "classes": [0, 1],
        "input_columns": ["a", "b"],
        "files": {"pipeline.skops": digest},
    }
    (model / "manifest.json").write_text(json.dumps(manifest))
    (folder / "run.json").write_text(json.dumps({"fingerprints": {"main": {"sha256": "f" * 64}}}))
    return model


def add(registry: ModelRegistry, tmp_path: Path, name: str = "churn", **kw: object) -> int:
    run = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    options: dict = {"alias": "candidate", "forced": False, "criteria_passed": True}
    options.update(kw)
    model = fake_model(run)
    return registry.register(name, run, model, metrics={"test": {"f1": 0.9}}, **options).version


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path}/nested/dir/r.db")


def test_register_creates_the_file_with_wal_and_numbers_versions(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    assert [add(registry, tmp_path), add(registry, tmp_path)] == [1, 2]
    db = tmp_path / "nested" / "dir" / "r.db"
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"models", "model_versions", "aliases", "audit"} <= tables
    v2 = registry.resolve("churn:2")
    assert v2.aliases == ("candidate",)
    assert registry.resolve("churn:1").aliases == ()
    assert v2.sha256 == "ab" * 32
    assert v2.metrics == {"test": {"f1": 0.9}}
    assert v2.schema["input_columns"] == ["a", "b"]
    assert v2.fingerprints == {"main": {"sha256": "f" * 64}}
    assert v2.parent_version == 1
    assert v2.status == "active"
    assert v2.model_dir.is_absolute()


def test_resolve_refs(registry: ModelRegistry, tmp_path: Path) -> None:
    add(registry, tmp_path)
    add(registry, tmp_path)
    registry.promote("churn", 1, "production")
    assert registry.resolve("churn@production").version == 1
    assert registry.resolve("churn").version == 2
    assert registry.resolve("churn:1").aliases == ("production",)
    with pytest.raises(MlconfError, match=r"(?s)no alias 'prod'.*production") as err:
        registry.resolve("churn@prod")
    assert "candidate, production" in err.value.render()
    with pytest.raises(MlconfError, match="no version 7"):
        registry.resolve("churn:7")
    with pytest.raises(MlconfError, match=r"no model named 'chrun'.*Did you mean 'churn'"):
        registry.resolve("chrun@production")
    with pytest.raises(MlconfError, match="not a version number"):
        parse_ref("churn:x")
    with pytest.raises(MlconfError, match="empty"):
        parse_ref("@production")


def test_promote_rollback_and_audit(registry: ModelRegistry, tmp_path: Path) -> None:
    for _ in range(3):
        add(registry, tmp_path)
    registry.promote("churn", 1, "production", actor="alice")
    registry.promote("churn", 2, "production", actor="bob")
    registry.promote("churn", 3, "production")
    assert registry.rollback("churn", "production").version == 2
    assert registry.rollback("churn", "production", actor="carol").version == 1
    assert registry.resolve("churn@production").version == 1
    with pytest.raises(MlconfError, match="no earlier version"):
        registry.rollback("churn", "production")
    with pytest.raises(MlconfError, match="no alias 'staging'"):
        registry.rollback("churn", "staging")
    moves = [
        (e["action"], e["who"], e["from_version"], e["to_version"])
        for e in registry.audit("churn")
        if e["alias"] == "production"
    ]
    assert moves[:2] == [("promote", "alice", None, 1), ("promote", "bob", 1, 2)]
    assert moves[-1] == ("rollback", "carol", 2, 1)
    assert all(e["at"] and e["who"] for e in registry.audit())


def test_archive(registry: ModelRegistry, tmp_path: Path) -> None:
    add(registry, tmp_path)
    add(registry, tmp_path)
    with pytest.raises(MlconfError, match="still holds the alias"):
        registry.archive("churn", 2)
    registry.archive("churn", 1)
    assert registry.resolve("churn:1").status == "archived"
    with pytest.raises(MlconfError, match="it is archived"):
        registry.promote("churn", 1, "production")
    assert registry.audit("churn")[-1]["action"] == "archive"


def test_forced_and_failed_criteria_are_recorded(registry: ModelRegistry, tmp_path: Path) -> None:
    add(registry, tmp_path, forced=True, criteria_passed=False, alias=None)
    version = registry.versions("churn")[0]
    assert version.forced and version.criteria_passed is False and version.aliases == ()


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none/r.db"
    for call in (
        lambda r: r.versions(),
        lambda r: r.resolve("churn@production"),
        lambda r: r.promote("churn", 1, "production"),
    ):
        with pytest.raises(MlconfError, match=r"no registry at .*train a model first"):
            call(ModelRegistry(url))
    assert not (tmp_path / "none").exists()
    with pytest.raises(MlconfError, match="no registry at"):
        open_model("churn@production", url)
    with pytest.raises(MlconfError, match="does not exist"):
        open_model(str(tmp_path / "gone" / "model"), url)


def test_locked_database_is_a_clear_error(
    registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(registry, tmp_path)
    monkeypatch.setattr("mlconf.store.model_registry.BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr("mlconf.store.model_registry.LOCK_RETRIES", 2)
    locked = ModelRegistry(registry.url)
    holder = sqlite3.connect(tmp_path / "nested" / "dir" / "r.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(MlconfError, match=r"r\.db.* is locked by another process") as err:
            locked.promote("churn", 1, "production")
        assert "PostgreSQL" in err.value.render()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    locked.promote("churn", 1, "production")


def test_bad_url_and_names(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="not a database URL"):
        ModelRegistry("not a url")
    registry = ModelRegistry(f"sqlite:///{tmp_path}/r.db")
    with pytest.raises(MlconfError, match=r"deploy\.model_name"):
        registry.register(
            "a/b",
            tmp_path,
            fake_model(tmp_path),
            alias=None,
            forced=False,
            metrics={},
            criteria_passed=True,
        )


WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_model_registry import fake_model
    from mlconf.store.model_registry import ModelRegistry
    root, tag = Path(sys.argv[1]), sys.argv[2]
    registry = ModelRegistry(f"sqlite:///{{root}}/r.db")
    while not (root / "go").exists():
        time.sleep(0.01)
    for i in range(8):
        run = root / f"{{tag}}{{i}}"
        registry.register("churn", run, fake_model(run), alias="candidate", forced=False,
                          metrics={{}}, criteria_passed=True)
    """
)


def test_two_processes_registering_at_once_get_distinct_versions(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(ROOT / "tests")))
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), tag],
            env={**__import__("os").environ, **env},
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    time.sleep(1.0)  # both have imported and wait on the go file
    (tmp_path / "go").touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    versions = ModelRegistry(f"sqlite:///{tmp_path}/r.db").versions("churn")
    assert sorted(v.version for v in versions) == list(range(1, 17))
    assert {v.run_dir.name[0] for v in versions} == {"a", "b"}


PROMOTER = textwrap.dedent(
    """
    import random, sys, time
    from pathlib import Path
    from mlconf.store.model_registry import ModelRegistry
    root, seed = Path(sys.argv[1]), int(sys.argv[2])
    registry = ModelRegistry(f"sqlite:///{{root}}/r.db")
    pick = random.Random(seed)
    while not (root / "go").exists():
        time.sleep(0.01)
    for _ in range(10):
        registry.promote("churn", pick.randint(1, 4), "production", actor=f"worker{{seed}}")
    """
)


def test_processes_promoting_at_once_lose_no_update(tmp_path: Path) -> None:
    """Every promotion lands in the audit trail, chained: each starts where the last ended."""
    registry = ModelRegistry(f"sqlite:///{tmp_path}/r.db")
    for i in range(4):
        run = tmp_path / f"run{i}"
        model = fake_model(run)
        registry.register(
            "churn", run, model, alias=None, forced=False, metrics={}, criteria_passed=True
        )
    script = tmp_path / "promoter.py"
    script.write_text(PROMOTER.format())
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), str(seed)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    time.sleep(1.0)  # all have imported and wait on the go file
    (tmp_path / "go").touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
    # No lost update: each promotion moved the alias from where the previous one left it.
    moves = promotions(registry, "churn")
    # 30 calls; one that names the version the alias already holds changes nothing.
    assert 10 <= len(moves) <= 30
    assert {row["who"] for row in moves} == {"worker1", "worker2", "worker3"}
    assert registry.resolve("churn@production").version == moves[-1]["to_version"]
