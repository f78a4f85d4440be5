"""Parquet files read whole, by their footer alone, or batch by batch, with the engine
`parquet_engine` chooses (pyarrow when installed, else fastparquet)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.store.tables.parquet_engine import (
    ParquetInfo,
    file_info,
    import_quietly,
    iter_frames,
    read_frame,
)

if TYPE_CHECKING:
    import pandas as pd

NOT_PARQUET = "check that it is a Parquet file"


def read_parquet(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A Parquet file or folder of files, whole; `options` go to the engine's reader."""
    try:
        return read_frame(path, options)
    except _read_errors() as exc:
        raise _unreadable(path, exc, None, NOT_PARQUET) from exc


def parquet_metadata(
    path: Path, *, where: str | None = None, fix: str = NOT_PARQUET
) -> ParquetInfo:
    """The file's columns and row count from its footer: cheap, and it leaves no file open,
    so a folder of many partitions can be checked before any is read."""
    try:
        return file_info(path)
    except _read_errors() as exc:
        raise _unreadable(path, exc, where, fix) from exc


def iter_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file at most `chunk_rows` rows at a time."""
    return iter_frames(path, chunk_rows)


def _read_errors() -> tuple[type[Exception], ...]:
    """What the engines raise on a file that is not Parquet (pyarrow's ArrowInvalid is a
    ValueError; fastparquet raises ValueError or its ParquetException)."""
    errors: tuple[type[Exception], ...] = (ValueError, OSError)
    with contextlib.suppress(ImportError):
        errors += (import_quietly("fastparquet.util").ParquetException,)
    return errors


def _unreadable(path: Path, exc: Exception, where: str | None, fix: str) -> MlconfError:
    return MlconfError(f"file '{path}' cannot be read as Parquet: {exc}", where=where, fix=fix)
