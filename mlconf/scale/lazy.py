"""Lazy loading: a csv or parquet source whose path is a folder or a glob, read with
dask.dataframe one partition (one file) at a time, never the whole table at once."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import SourceConfig

KINDS = {"parquet": (".parquet", ".pq"), "csv": (".csv", ".csv.gz")}


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
    if source.kind not in KINDS:
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
    suffixes = KINDS[source.kind]
    path = Path(source.path).expanduser()
    many = matching_files(source.path)
    if many is not None:
        found = [p for p in many if p.name.lower().endswith(suffixes)]
    else:
        found = [path] if path.is_file() else []
    if not found:
        raise MlconfError(
            f"'{source.path}' matches no {source.kind} files (looked relative to {Path.cwd()})",
            where=where,
            fix=f"point it at a folder of {'/'.join(suffixes)} files or a glob such as "
            f"data/part-*{suffixes[0]}",
        )
    empty = [p for p in found if p.stat().st_size == 0]
    if empty:
        raise MlconfError(
            f"file '{empty[0]}' is empty (0 bytes)",
            where=where,
            fix="delete the empty file or write its partition again",
        )
    return found


def matching_files(spec: str) -> list[Path] | None:
    """The files under a folder or matching a glob, sorted, without hidden (`.`, `_`) ones;
    None when `spec` is neither (a single file's path)."""
    path = Path(spec).expanduser()
    if path.is_file():  # `export [2024].csv` is a file, not a pattern
        return None
    if path.is_dir():
        root: Path | None = path
        found = [p for p in path.rglob("*") if p.is_file()]
    elif glob.has_magic(str(path)):
        root = None  # a pattern names its files itself: only their own names can hide them
        found = [Path(p) for p in glob.glob(str(path), recursive=True)]  # noqa: PTH207
        found = [p for p in found if p.is_file()]
    else:
        return None

    def hidden(p: Path) -> bool:
        # Spark's _temporary/, .ipynb_checkpoints/ and the like hide whole folders
        parts = p.relative_to(root).parts if root is not None else (p.name,)
        return any(part.startswith((".", "_")) for part in parts)

    return sorted(p for p in found if not hidden(p))


def open_table(name: str, source: SourceConfig) -> LazyTable:
    """The source as a lazy dask frame, after checking that every file has the same schema."""
    import dask.dataframe as dd

    files = source_files(name, source)
    options = dict(source.options)
    if source.kind == "parquet":
        columns = _parquet_columns(name, files)
        frame = dd.read_parquet([str(p) for p in files], engine="pyarrow", **options)
    else:
        columns = _csv_columns(name, files, options)
        options.setdefault("encoding", "utf-8-sig")
        # blocksize=None: one partition per file, so a row's number never depends on how
        # dask would cut the bytes.
        frame = dd.read_csv([str(p) for p in files], blocksize=None, **options)
    return LazyTable(source.kind, files, columns, frame)


def _parquet_columns(name: str, files: list[Path]) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    first: Any = None
    for path in files:
        try:
            schema = pq.read_schema(path).remove_metadata()
        except (pa.ArrowInvalid, OSError) as exc:
            raise MlconfError(
                f"file '{path}' cannot be read as Parquet: {exc}",
                where=f"data.sources.{name}.path",
                fix="check that every file the path matches is a Parquet file",
            ) from exc
        if first is None:
            first = (path, schema)
            continue
        _same_schema(
            name,
            first[0],
            path,
            dict(zip(first[1].names, map(str, first[1].types), strict=True)),
            dict(zip(schema.names, map(str, schema.types), strict=True)),
        )
    return list(first[1].names)


def _csv_columns(name: str, files: list[Path], options: dict[str, Any]) -> list[str]:
    import pandas as pd

    first: tuple[Path, dict[str, str]] | None = None
    for path in files:
        header = pd.read_csv(path, nrows=0, **{"encoding": "utf-8-sig", **options})
        columns = {str(c): "" for c in header.columns}
        if first is None:
            first = (path, columns)
        else:
            _same_schema(name, first[0], path, first[1], columns)
    if first is None:
        raise RuntimeError("internal error: expected at least one file")
    return list(first[1])


def _same_schema(
    name: str, first: Path, path: Path, want: dict[str, str], got: dict[str, str]
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
        where=f"data.sources.{name}.path",
        fix="write every partition with the same columns and types (or point the path at "
        "only the files that belong together)",
    )


def fingerprint(files: list[Path]) -> str:
    """sha256 over the files' names and their own sha256, in order (each file streamed)."""
    import hashlib

    from mlconf.store.artifacts import sha256_file

    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\x1f{sha256_file(path)}\n".encode())
    return digest.hexdigest()
