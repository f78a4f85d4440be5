"""Lazy loading: a csv or parquet source whose path is a folder or a glob, read with
dask.dataframe one partition (one file) at a time, never the whole table at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.store.tables.files import matching_files
from mlconf.store.tables.formats import FILE_FORMATS, format_of, suffixes

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import SourceConfig

# a partition may be a gzipped CSV file (dask reads it whole, one partition per file)
COMPRESSIONS = (".gz",)


@dataclass
class LazyTable:
    """The files of one source, their common columns, and the dask frame over them."""

    kind: str
    files: list[Path]
    columns: list[str]
    frame: Any  # dask.dataframe.DataFrame, one partition per file

    @property
    def partitions(self) -> int:
        return len(self.files)

    def partition(self, i: int) -> pd.DataFrame:
        """Partition `i` as a pandas frame (only this file is read)."""
        try:
            return self.frame.get_partition(i).compute(scheduler="synchronous")
        except (ValueError, TypeError) as exc:
            raise MlconfError(
                f"'{self.files[i]}' cannot be read like the other files: "
                f"{str(exc).strip().splitlines()[0]}",
                where="data.sources (engine dask)",
                fix="give every file the same columns and types, or set the column's type "
                "with data.sources.<name>.options.dtype",
            ) from exc

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for i in range(self.partitions):
            yield self.partition(i)


def check_kind(name: str, source: SourceConfig) -> None:
    """Only file sources can be read partition by partition."""
    if source.kind not in FILE_FORMATS:
        raise MlconfError(
            f"source kind '{source.kind}' cannot be read partition by partition",
            where=f"data.sources.{name}.kind",
            fix="with data.engine=dask use a csv or parquet source whose path is a folder or a "
            "glob of files (or set data.engine=pandas)",
        )


def source_files(name: str, source: SourceConfig) -> list[Path]:
    """The files a folder or glob path names, sorted; an error names the key when none match."""
    where = f"data.sources.{name}.path"
    check_kind(name, source)
    if not source.path:
        raise MlconfError(
            f"a {source.kind} source needs a `path`",
            where=where,
            fix=f"set {where} to a folder of {source.kind} files or a glob of them",
        )
    path = Path(source.path).expanduser()
    many = matching_files(source.path)
    if many is not None:
        found = [p for p in many if format_of(p.name, COMPRESSIONS) == source.kind]
    else:
        found = [path] if path.is_file() else []
    if not found:
        endings = suffixes(source.kind, COMPRESSIONS)
        raise MlconfError(
            f"'{source.path}' matches no {source.kind} files (looked relative to {Path.cwd()})",
            where=where,
            fix=f"point it at a folder of {'/'.join(endings)} files or a glob such as "
            f"data/part-*{endings[0]}",
        )
    empty = [p for p in found if p.stat().st_size == 0]
    if empty:
        raise MlconfError(
            f"file '{empty[0]}' is empty (0 bytes)",
            where=where,
            fix="delete the empty file or write its partition again",
        )
    return found


def open_table(name: str, source: SourceConfig) -> LazyTable:
    """The source as a lazy dask frame, after checking that every file has the same schema."""
    from mlconf.store.tables.dask_reader import read_dask

    files = source_files(name, source)
    where = f"data.sources.{name}.path"
    columns, frame = read_dask(source.kind, files, dict(source.options), where=where)
    return LazyTable(source.kind, files, columns, frame)


def fingerprint(files: list[Path]) -> str:
    """sha256 over the files' names and their own sha256, in order (each file streamed)."""
    import hashlib

    from mlconf.store.artifacts import sha256_file

    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\x1f{sha256_file(path)}\n".encode())
    return digest.hexdigest()
