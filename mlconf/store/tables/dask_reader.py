"""Many files of one table as a lazy dask frame, one partition per file, after checking
that every file has the first one's columns (and, for Parquet, types)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlconf.core.errors import MlconfError
from mlconf.store.tables.csv_reader import ENCODING, read_csv
from mlconf.store.tables.parquet_engine import require_pyarrow
from mlconf.store.tables.parquet_reader import parquet_metadata


def read_dask(
    fmt: str, files: list[Path], options: dict[str, Any], *, where: str
) -> tuple[list[str], Any]:
    """The files' common columns and the dask.dataframe over them; `where` names the config
    key a mismatch is reported against."""
    # dask.dataframe and its Parquet reader need pyarrow (the scale extra installs it)
    require_pyarrow("data.engine=dask")
    import dask.dataframe as dd

    options = dict(options)
    names = [str(p) for p in files]
    if fmt == "parquet":
        columns = _parquet_columns(files, where)
        return columns, dd.read_parquet(names, engine="pyarrow", **options)
    columns = _csv_columns(files, options, where)
    options.setdefault("encoding", ENCODING)
    # blocksize=None: one partition per file, so a row's number never depends on how
    # dask would cut the bytes.
    return columns, dd.read_csv(names, blocksize=None, **options)


def _parquet_columns(files: list[Path], where: str) -> list[str]:
    import pyarrow.parquet as pq

    first: Any = None
    fix = "check that every file the path matches is a Parquet file"
    for path in files:
        parquet_metadata(path, where=where, fix=fix)  # a file that is not Parquet, in words
        schema = pq.read_schema(path).remove_metadata()
        if first is None:
            first = (path, schema)
            continue
        _same_schema(
            where,
            first[0],
            path,
            dict(zip(first[1].names, map(str, first[1].types), strict=True)),
            dict(zip(schema.names, map(str, schema.types), strict=True)),
        )
    return list(first[1].names)


def _csv_columns(files: list[Path], options: dict[str, Any], where: str) -> list[str]:
    first: tuple[Path, dict[str, str]] | None = None
    for path in files:
        header = read_csv(path, {**options, "nrows": 0}, check_header=False)
        columns = {str(c): "" for c in header.columns}
        if first is None:
            first = (path, columns)
        else:
            _same_schema(where, first[0], path, first[1], columns)
    if first is None:
        raise RuntimeError("internal error: expected at least one file")
    return list(first[1])


def _same_schema(
    where: str, first: Path, path: Path, want: dict[str, str], got: dict[str, str]
) -> None:
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    changed = [
        f"{c} ({want[c]} in the first, {got[c]} here)"
        for c in want
        if c in got and want[c] != got[c]
    ]
    if not (missing or extra or changed):
        return
    detail = "; ".join(
        text
        for text in (
            f"missing {', '.join(missing[:10])}" if missing else "",
            f"extra {', '.join(extra[:10])}" if extra else "",
            f"other types: {', '.join(changed[:10])}" if changed else "",
        )
        if text
    )
    raise MlconfError(
        f"file '{path}' does not have the columns of '{first}': {detail}",
        where=where,
        fix="write every partition with the same columns and types (or point the path at "
        "only the files that belong together)",
    )
