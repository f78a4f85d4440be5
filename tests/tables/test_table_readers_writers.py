"""Readers in chunks and atomic chunk writers, for every format mlconf reads and writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from parquet_engines import use_engine

from mlconf.core.errors import MlconfError
from mlconf.store.tables.csv_reader import iter_csv, read_csv
from mlconf.store.tables.parquet_reader import iter_parquet, parquet_metadata
from mlconf.store.tables.sql_reader import read_query, stream_query
from mlconf.store.tables.writers import atomic_writer

FRAME = pd.DataFrame({"id": range(10), "code": [f"{i:03d}" for i in range(10)]})


def test_csv_in_chunks_keeps_text_columns_text(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    FRAME.to_csv(path, index=False)
    chunks = list(iter_csv(path, 4, text=["code"]))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert pd.concat(chunks)["code"].tolist() == FRAME["code"].tolist()  # "000", not 0


def test_csv_in_chunks_names_the_row_it_stopped_at(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n" + "1,2\n" * 5 + "1,2,3\n")
    with pytest.raises(MlconfError, match="cannot be read past row 4") as info:
        list(iter_csv(path, 4, where="input="))
    assert info.value.where == "input="


def test_csv_header_check_can_be_left_to_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a\n1,2\n")
    with pytest.raises(MlconfError, match="duplicate column names"):
        read_csv(path)
    assert list(read_csv(path, {"nrows": 0}, check_header=False).columns) == ["a", "a.1"]


def test_parquet_footer_and_batches(tmp_path: Path, parquet_engine_in_use: str) -> None:
    path = tmp_path / "in.parquet"
    FRAME.to_parquet(path, index=False)
    meta = parquet_metadata(path)
    assert meta.num_rows == 10 and meta.columns == ["id", "code"]
    assert [len(c) for c in iter_parquet(path, 3)] == [3, 3, 3, 1]
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(MlconfError, match="cannot be read as Parquet") as info:
        parquet_metadata(bad, where="input=", fix="check it")
    assert (info.value.where, info.value.fix) == ("input=", "check it")


def test_query_whole_and_streamed(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        FRAME.to_sql("t", conn, index=False)
    url = f"sqlite:///{db}"
    assert len(read_query(url, "SELECT * FROM t")) == 10
    stream = stream_query(url, "SELECT id FROM t", 4)
    assert stream.columns == ["id"] and [len(c) for c in stream.chunks()] == [4, 4, 2]
    with pytest.raises(MlconfError, match="the query failed on") as info:
        stream_query(url, "SELECT * FROM nope", 4, where="input=")
    assert info.value.where == "input="


@pytest.mark.parametrize("fmt", ["csv", "parquet", "parquet-fastparquet"])
def test_atomic_writer_publishes_only_a_whole_file(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = _format_with_engine(fmt, monkeypatch)
    target = tmp_path / f"out.{fmt}"
    with atomic_writer(target, fmt, ["id", "code"]) as writer:
        writer.write(FRAME.head(5))
        writer.write(FRAME.tail(5))
        assert not target.exists()  # a temporary file until the block ends
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    assert read(target)["id"].tolist() == list(range(10))
    with pytest.raises(RuntimeError), atomic_writer(target, fmt, ["id", "code"]) as writer:
        writer.write(FRAME.head(2))
        raise RuntimeError("crash")
    assert len(read(target)) == 10  # the old file survives
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def _format_with_engine(fmt: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """'parquet-fastparquet': Parquet written by fastparquet, as without pyarrow."""
    fmt, _, engine = fmt.partition("-")
    if engine:
        use_engine(monkeypatch, engine)
    return fmt


@pytest.mark.parametrize("fmt", ["csv", "parquet", "parquet-fastparquet"])
def test_a_writer_given_no_rows_still_writes_the_columns(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = _format_with_engine(fmt, monkeypatch)
    target = tmp_path / f"empty.{fmt}"
    with atomic_writer(target, fmt, ["row", "prediction"]):
        pass
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    assert list(read(target).columns) == ["row", "prediction"]
