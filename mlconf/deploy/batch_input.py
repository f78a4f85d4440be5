"""What `mlconf predict` reads: a CSV or Parquet file, a folder or glob of them (scored one
after another in name order) or a SQL query, each as columns and a stream of chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError
from mlconf.store.tables.files import existing_file, matching_files
from mlconf.store.tables.formats import COMPRESSIONS, format_of

if TYPE_CHECKING:
    import pandas as pd

SQL_PREFIX = "sql:"


@dataclass
class BatchInput:
    """An opened input: checked and its columns known before any output is made."""

    name: str
    columns: list[str]
    total: int | None
    chunks: Callable[[], Iterator[pd.DataFrame]]


def partition_files(spec: str) -> list[Path] | None:
    """The files of a folder or a glob input (partitions, scored one after another in name
    order), or None for a single file."""
    found = None if spec.startswith(SQL_PREFIX) else matching_files(spec)
    if found is None:
        return None
    data = [p for p in found if format_of(p.name) is not None]
    if not data:
        raise MlconfError(
            f"'{spec}' matches no .csv or .parquet files",
            where="input=",
            fix="point input= at a folder of partitions or a glob such as 'data/part-*.parquet'",
        )
    kinds = {format_of(p.name) for p in data}
    if len(kinds) > 1:
        raise MlconfError(
            f"'{spec}' mixes {' and '.join(sorted(map(str, kinds)))} files",
            where="input=",
            fix="score one format at a time (narrow the glob)",
        )
    return data


def input_format(spec: str) -> str:
    """csv, parquet or sql, from the input's name (a folder's: from its first file)."""
    if spec.startswith(SQL_PREFIX):
        return "sql"
    files = partition_files(spec)
    if files:
        return input_format(str(files[0]))
    return _named_format(
        format_of(spec, COMPRESSIONS),
        f"cannot tell the format of '{spec}' from its name",
        where="input=",
        fix="use a .csv (or .csv.gz) or .parquet file, or `input='sql:SELECT ...'` with url=",
    )


def output_format(path: Path) -> str:
    return _named_format(
        format_of(path.name),
        f"cannot tell the output format of '{path}' from its name",
        where="output=",
        fix="end the output name in .csv or .parquet",
    )


def _named_format(fmt: str | None, unknown: str, *, where: str, fix: str) -> str:
    if fmt is None:
        raise MlconfError(unknown, where=where, fix=fix)
    return fmt


def open_input(spec: str, chunk_rows: int, *, url: str | None, text: Sequence[str]) -> BatchInput:
    """The input, opened: read as far as its columns (a query: run), so that every check
    on them comes before the first chunk is scored. `text` columns are read as text."""
    fmt = input_format(spec)
    if fmt == "sql":
        return _sql_input(spec[len(SQL_PREFIX) :].strip(), chunk_rows, url)
    files = partition_files(spec)
    if files:
        return _chained(spec, [open_input(str(p), chunk_rows, url=url, text=text) for p in files])
    path = existing_file(spec, fmt)
    if fmt == "parquet":
        return _parquet_input(path, chunk_rows)
    return _csv_input(path, chunk_rows, text)


def _chained(spec: str, inputs: list[BatchInput]) -> BatchInput:
    """Partitions read one after another; every one must have the first one's columns."""
    first = inputs[0]
    for other in inputs[1:]:
        if other.columns != first.columns:
            raise MlconfError(
                f"'{other.name}' does not have the columns of '{first.name}'",
                where="input=",
                fix="write every partition with the same columns, in the same order",
            )
    totals = [i.total for i in inputs]
    total = None if None in totals else sum(t for t in totals if t is not None)

    def chunks() -> Iterator[pd.DataFrame]:
        for part in inputs:
            yield from part.chunks()

    return BatchInput(f"{spec} ({len(inputs)} files)", first.columns, total, chunks)


def _csv_input(path: Path, chunk_rows: int, text: Sequence[str]) -> BatchInput:
    from mlconf.store.tables.csv_reader import iter_csv, read_csv

    header = read_csv(path, {"nrows": 0})  # the header, with the training sources' checks
    columns = [str(c) for c in header.columns]
    as_text = [c for c in text if c in columns]
    return BatchInput(
        str(path),
        columns,
        None,
        lambda: iter_csv(path, chunk_rows, text=as_text, where="input="),
    )


def _parquet_input(path: Path, chunk_rows: int) -> BatchInput:
    from mlconf.store.tables.parquet_reader import iter_parquet, parquet_metadata

    meta = parquet_metadata(
        path,
        where="input=",
        fix="check that it is a Parquet file (a folder of files is not supported here)",
    )
    return BatchInput(
        str(path), meta.columns, meta.num_rows, lambda: iter_parquet(path, chunk_rows)
    )


def _sql_input(query: str, chunk_rows: int, url: str | None) -> BatchInput:
    from mlconf.store.tables.sql_reader import stream_query

    if not url or not query:
        raise MlconfError(
            "a SQL input needs a query and a database URL",
            where="input=/url=",
            fix="e.g. input='sql:SELECT * FROM customers' url=sqlite:///data/shop.db",
        )
    stream = stream_query(
        url, query, chunk_rows, where="input=", fix="check the table and column names in the query"
    )
    return BatchInput(f"query on {stream.shown}", stream.columns, None, stream.chunks)
