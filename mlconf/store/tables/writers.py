"""Tables written chunk by chunk under a temporary name and renamed into place when
complete, so a crash leaves the old file or none, never half of one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlconf.store.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd


class ChunkWriter(Protocol):
    def write(self, frame: pd.DataFrame) -> None: ...

    def close(self) -> None: ...


class CsvChunkWriter:
    """The header first (so an input with no rows still gives a file with the columns),
    then each chunk's rows."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        import pandas as pd

        self._fh = path.open("w", encoding="utf-8", newline="")
        pd.DataFrame(columns=columns).to_csv(self._fh, index=False)

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self._fh, header=False, index=False)

    def close(self) -> None:
        self._fh.close()


class ParquetChunkWriter:
    """One row group per chunk; the schema is the first chunk's, and every later chunk is
    cast to it. pyarrow when installed, else fastparquet (`parquet_engine`)."""

    def __init__(self, path: Path, columns: list[str], engine: str | None = None) -> None:
        from mlconf.store.tables.parquet_engine import parquet_engine

        self._path = path
        self._columns = columns
        self._engine = engine or parquet_engine()
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._engine == "fastparquet":
            from mlconf.store.tables.parquet_engine import FastparquetChunks

            if self._writer is None:
                self._writer = FastparquetChunks(self._path)
            self._writer.write(frame)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            # A column that is empty in the first chunk has no type yet: call it text.
            schema = pa.schema(
                [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            ).remove_metadata()
            self._writer = pq.ParquetWriter(self._path, schema)
            table = table.cast(schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self._writer.schema, preserve_index=False)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is None:
            import pandas as pd

            from mlconf.store.tables.parquet_engine import write_frame

            write_frame(pd.DataFrame(columns=self._columns), self._path, index=False)
        elif self._engine == "pyarrow":
            self._writer.close()


def chunk_writer(fmt: str, path: Path, columns: list[str]) -> ChunkWriter:
    """A writer of `fmt` (csv or parquet) that fills `path` with `columns`."""
    return CsvChunkWriter(path, columns) if fmt == "csv" else ParquetChunkWriter(path, columns)


@contextmanager
def atomic_writer(path: Path, fmt: str, columns: list[str]) -> Iterator[ChunkWriter]:
    """A chunk writer on a temporary file beside `path`, closed and renamed over `path`
    when the block ends without an error (closed and deleted when it raises)."""
    with atomic_path(path) as tmp:
        writer = chunk_writer(fmt, tmp, columns)
        try:
            yield writer
        finally:
            writer.close()
