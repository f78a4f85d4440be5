"""Both Parquet engines in one test run: the tests install pyarrow, and an install without
it reads and writes with fastparquet (mlconf.store.tables.parquet_engine). `use_engine` makes
mlconf choose one as it would on such an install."""

from __future__ import annotations

import pytest

from mlconf.store.tables import parquet_engine

ENGINES = parquet_engine.ENGINES


def use_engine(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """Only `engine` is looked for, as on an install where it is the one installed."""
    monkeypatch.setattr(parquet_engine, "ENGINES", (engine,))


@pytest.fixture(params=ENGINES)
def parquet_engine_in_use(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test runs once with each engine (fastparquet: as on an install without pyarrow)."""
    use_engine(monkeypatch, request.param)
    return str(request.param)
