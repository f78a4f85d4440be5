"""The stores on a real PostgreSQL server: model registry, prediction log, monitoring reads.

The server is the throwaway one of tests/postgres.py (or MLCONF_TEST_POSTGRES_URL); each
test gets a fresh database.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_model_registry import fake_model

from mlconf.core.errors import MlconfError
from mlconf.store.model_registry import ModelRegistry


def register(registry: ModelRegistry, tmp_path: Path, n: int, alias: str | None = None) -> None:
    for i in range(n):
        run = tmp_path / f"run{i}"
        registry.register(
            "churn", run, fake_model(run), alias=alias, forced=False, metrics={"f1": 0.9},
            criteria_passed=True,
        )  # fmt: skip


def test_registry_registers_promotes_resolves_and_rolls_back(
    postgres_url: str, tmp_path: Path
) -> None:
    registry = ModelRegistry(postgres_url)
    assert registry.exists()
    register(registry, tmp_path, 3, alias="candidate")
    assert [v.version for v in registry.versions("churn")] == [1, 2, 3]
    assert registry.resolve("churn@candidate").version == 3
    registry.promote("churn", 1, "production", actor="alice")
    registry.promote("churn", 2, "production", actor="bob")
    assert registry.resolve("churn@production").version == 2
    assert registry.rollback("churn", "production").version == 1
    registry.archive("churn", 2)
    version = registry.resolve("churn:2")
    assert version.status == "archived" and version.metrics == {"f1": 0.9}
    assert version.schema["input_columns"] == ["a", "b"]
    assert registry.resolve("churn").version == 3
    actions = [e["action"] for e in registry.audit("churn")]
    assert actions == ["register"] * 3 + ["promote", "promote", "rollback", "archive"]
    with pytest.raises(MlconfError, match="no alias 'prod'"):
        registry.resolve("churn@prod")
    # A second registry object (another process, another machine) sees the same state.
    assert ModelRegistry(postgres_url).resolve("churn@production").version == 1


def test_concurrent_registrations_and_promotions_lose_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """Three writers at once on one server: distinct version numbers, an unbroken audit chain."""
    errors: list[BaseException] = []
    go = threading.Event()

    def writer(k: int) -> None:
        try:
            go.wait()
            registry = ModelRegistry(postgres_url)  # all three create the tables at once
            register(registry, tmp_path / f"w{k}", 3)
            for i in range(10):
                registry.promote("churn", 1 + (i + k) % 3, "production", actor=f"w{k}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    registry = ModelRegistry(postgres_url)
    assert sorted(v.version for v in registry.versions("churn")) == list(range(1, 10))
    moves = [e for e in registry.audit("churn") if e["alias"] == "production"]
    assert moves and {e["who"] for e in moves} <= {"w0", "w1", "w2"}
    for before, after in itertools.pairwise(moves):
        assert after["from_version"] == before["to_version"]


def test_prediction_log_and_monitoring_reads(postgres_url: str) -> None:
    from mlconf.monitoring.performance import read_feedback, read_predictions
    from mlconf.monitoring.window import read_log
    from mlconf.store.prediction_log import PredictionLog, new_row

    registry = ModelRegistry(postgres_url)
    with pytest.raises(MlconfError, match="is empty"):
        read_log(registry.engine, "cars")  # no predictions table yet: empty, not a crash
    plog = PredictionLog(postgres_url, engine=registry.engine)
    rows = [
        new_row(f"id-{i}", "cars", "3", {"hp": i}, {"prediction": "USA"}, 1.5) for i in range(5)
    ]
    plog.submit(rows)
    assert plog.flush()
    assert (plog.written, plog.failed) == (5, 0)
    assert plog.known("id-4") and not plog.known("id-99")
    plog.add_feedback("id-1", "Europe")
    current = read_log(registry.engine, "cars", window="1h")
    assert current.prediction_ids == [f"id-{i}" for i in range(5)]
    assert list(current.frame["hp"]) == [0, 1, 2, 3, 4]
    since = datetime.now(UTC) - timedelta(hours=1)
    assert len(read_predictions(registry.engine, "cars", since=since)) == 5
    feedback = read_feedback(registry.engine)
    assert list(feedback["outcome"]) == ["Europe"]
    assert str(feedback["feedback_at"].dtype) == "datetime64[us, UTC]"


def test_unreachable_registry_server_names_the_url_without_password() -> None:
    url = "postgresql+psycopg://tuner:s3cret-pw@127.0.0.1:9/mlconf"
    with pytest.raises(MlconfError) as caught:
        ModelRegistry(url).versions()
    text = caught.value.render()
    assert "s3cret-pw" not in text and "tuner:***@127.0.0.1:9" in text
