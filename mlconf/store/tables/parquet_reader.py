"""Parquet files read whole, by their footer alone, or batch by batch with pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

NOT_PARQUET = "check that it is a Parquet file"


def read_parquet(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A Parquet file or folder of files, whole; `options` go to pandas.read_parquet."""
    import pandas as pd
    import pyarrow as pa

    try:
        return pd.read_parquet(path, engine="pyarrow", **(options or {}))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, exc, None, NOT_PARQUET) from exc


def parquet_metadata(path: Path, *, where: str | None = None, fix: str = NOT_PARQUET) -> Any:
    """The file's footer (schema, row count): cheap, and it leaves no file open, so a folder
    of many partitions can be checked before any is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, exc, where, fix) from exc


def iter_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file `chunk_rows` rows at a time, one record batch after another."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        for batch in file.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def _unreadable(path: Path, exc: Exception, where: str | None, fix: str) -> MlconfError:
    return MlconfError(f"file '{path}' cannot be read as Parquet: {exc}", where=where, fix=fix)
