"""Which library reads and writes Parquet, chosen in one place.

pyarrow when it is installed (faster; the `arrow` and `scale` extras), otherwise fastparquet
(a core dependency of about 15 MB where pyarrow is about 175 MB). Frames come back the same
either way: what fastparquet reads is brought to what pandas' pyarrow reader gives (text as
the `str` dtype), and what pyarrow reads from a file fastparquet wrote gets its categoricals
back. fastparquet is called directly, not through pandas, whose `fastparquet` engine is
deprecated.
"""

from __future__ import annotations

import importlib
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

ENGINES = ("pyarrow", "fastparquet")
# pyarrow writes snappy by default; fastparquet (whose default is none) is told the same.
COMPRESSION = "SNAPPY"
MAGIC = b"PAR1"


def parquet_engine() -> str:
    """'pyarrow' when it can be imported, else 'fastparquet'."""
    for name in ENGINES:
        try:
            import_quietly(name)
        except ImportError:
            continue
        return name
    raise MlconfError(
        "neither pyarrow nor fastparquet can be imported, so Parquet files cannot be read",
        fix="reinstall mlconf-tabular (it depends on fastparquet), or `pip install fastparquet`",
    )


def require_pyarrow(what: str) -> None:
    """Stop with an error naming the extra when `what` needs pyarrow and it is missing."""
    try:
        importlib.import_module("pyarrow")
    except ImportError as exc:
        raise MlconfError(
            f"{what} needs pyarrow, which is not installed",
            fix='install the scale extra: pip install "mlconf-tabular[scale]" (or the arrow '
            "extra for pyarrow alone)",
        ) from exc


@dataclass(frozen=True)
class ParquetInfo:
    """What a file's footer tells without reading its rows."""

    columns: list[str]
    num_rows: int


def read_frame(
    source: Path | IO[bytes],
    options: dict[str, Any] | None = None,
    *,
    engine: str | None = None,
) -> pd.DataFrame:
    """A Parquet file (or folder of files), whole; `options` go to the engine's reader
    (`columns` works with both)."""
    options = dict(options or {})
    if (engine or parquet_engine()) == "pyarrow":
        import pandas as pd

        cats = _lost_categoricals(source) if _is_file(source) else {}
        if dictionary := [name for name, want in cats.items() if isinstance(want, bool)]:
            options.setdefault("read_dictionary", dictionary)
        return _ordered(pd.read_parquet(source, engine="pyarrow", **options), cats)
    file = _fastparquet_file(source)
    return _as_pyarrow_reads(file.to_pandas(**options), _text_columns(file))


def write_frame(
    frame: pd.DataFrame,
    target: Path | IO[bytes],
    *,
    index: bool | None = None,
    engine: str | None = None,
) -> None:
    """`frame` as one Parquet file; `index` as in pandas.DataFrame.to_parquet."""
    if (engine or parquet_engine()) == "pyarrow":
        frame.to_parquet(target, engine="pyarrow", index=index)
        return
    if isinstance(target, Path):
        _fastparquet_write(target, frame, index=index)
        return
    with tempfile.TemporaryDirectory(prefix="mlconf-parquet-") as tmp:
        path = Path(tmp) / "frame.parquet"
        _fastparquet_write(path, frame, index=index)
        target.write(path.read_bytes())


def frame_bytes(frame: pd.DataFrame, *, index: bool | None = None) -> bytes:
    """`frame` as the bytes of a Parquet file."""
    buffer = io.BytesIO()
    write_frame(frame, buffer, index=index)
    return buffer.getvalue()


def file_info(path: Path, *, engine: str | None = None) -> ParquetInfo:
    """Columns and row count from the footer; raises the engine's own error on a file
    that is not Parquet (the caller words it)."""
    if (engine or parquet_engine()) == "pyarrow":
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        return ParquetInfo(list(meta.schema.to_arrow_schema().names), meta.num_rows)
    file = _fastparquet_file(path)
    return ParquetInfo(list(file.columns), int(file.count()))


def iter_frames(
    path: Path, chunk_rows: int, *, engine: str | None = None
) -> Iterator[pd.DataFrame]:
    """The file at most `chunk_rows` rows at a time."""
    if (engine or parquet_engine()) == "pyarrow":
        import pyarrow.parquet as pq

        cats = _lost_categoricals(path)
        dictionary = [name for name, want in cats.items() if isinstance(want, bool)]
        with pq.ParquetFile(path, read_dictionary=dictionary or None) as file:
            for batch in file.iter_batches(batch_size=chunk_rows):
                yield _ordered(batch.to_pandas(), cats)
        return
    file = _fastparquet_file(path)
    text = _text_columns(file)
    for group in file.iter_row_groups():
        group = _as_pyarrow_reads(group, text)
        for start in range(0, len(group), chunk_rows):
            yield group.iloc[start : start + chunk_rows]


def import_quietly(name: str) -> Any:
    """The module, without the pandas deprecation warning fastparquet's import raises under
    pandas 3 (it reads the `future.infer_string` option)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
        return importlib.import_module(name)


def _import_fastparquet() -> Any:
    return import_quietly("fastparquet")


def _fastparquet_file(source: Path | IO[bytes]) -> Any:
    """fastparquet's reader, after the check pyarrow makes first: a Parquet file starts and
    ends with the magic bytes (fastparquet would say only 'Invalid argument')."""
    fastparquet = _import_fastparquet()

    if not isinstance(source, Path):
        return fastparquet.ParquetFile(source)
    if source.is_file():
        with source.open("rb") as fh:
            head = fh.read(4)
            fh.seek(0, io.SEEK_END)
            size = fh.tell()
            fh.seek(max(size - 4, 0))
            tail = fh.read(4)
        if size < 12 or head != MAGIC or tail != MAGIC:
            raise ValueError(
                "Parquet magic bytes not found in footer. Either the file is corrupted or "
                "this is not a parquet file."
            )
    return fastparquet.ParquetFile(str(source))


def _fastparquet_write(path: Path, frame: pd.DataFrame, *, index: bool | None, **kw: Any) -> None:
    fastparquet = _import_fastparquet()

    fastparquet.write(str(path), frame, compression=COMPRESSION, write_index=index, **kw)


class FastparquetChunks:
    """Chunks appended to one file as row groups; each later chunk is cast to the first
    chunk's dtypes, as pyarrow's writer casts to the first chunk's schema."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._dtypes: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if self._dtypes is None:
            # A column that is empty in the first chunk has no type yet: call it text.
            empty = [c for c in frame.columns if frame[c].dtype == object and frame[c].isna().all()]
            frame = frame.astype(dict.fromkeys(empty, "str"))
            self._dtypes = frame.dtypes
            _fastparquet_write(self._path, frame, index=False)
            return
        changed = {c: t for c, t in self._dtypes.items() if frame[c].dtype != t}
        _fastparquet_write(self._path, frame.astype(changed), index=False, append=True)


def _is_file(source: Path | IO[bytes]) -> bool:
    return not isinstance(source, Path) or source.is_file()


def _text_columns(file: Any) -> set[str]:
    """Columns fastparquet's schema marks as UTF-8 text."""
    converted_type = _import_fastparquet().parquet_thrift.ConvertedType
    elements = file.schema.schema_elements_by_name
    return {
        name
        for name, element in elements.items()
        if element.converted_type == converted_type.UTF8
        or getattr(element.logicalType, "STRING", None) is not None
    }


def _as_pyarrow_reads(frame: pd.DataFrame, text: set[str]) -> pd.DataFrame:
    """Text that fastparquet gives as object (always without pyarrow, and for files pyarrow
    wrote) as the `str` dtype that pandas' pyarrow reader gives."""
    to_str = [c for c in frame.columns if c in text and frame[c].dtype == object]
    if to_str:
        frame = frame.astype(dict.fromkeys(to_str, "str"))
    if frame.index.name in text and frame.index.dtype == object:
        frame.index = frame.index.astype("str")
    return frame


def _lost_categoricals(source: Path | IO[bytes]) -> dict[str, Any]:
    """Columns of a file written without pyarrow's own schema (by fastparquet) whose pandas
    dtype pyarrow would not restore: categoricals (name -> ordered; read as text unless the
    dictionary is read) and nullable extension dtypes (name -> dtype name, e.g. Int64)."""
    import pyarrow.parquet as pq

    position = source.tell() if not isinstance(source, Path) else None
    meta = pq.read_schema(source).metadata or {}
    if position is not None:
        source.seek(position)  # type: ignore[union-attr]
    if b"ARROW:schema" in meta or b"pandas" not in meta:
        return {}
    lost: dict[str, Any] = {}
    for column in json.loads(meta[b"pandas"]).get("columns", []):
        kind = str(column.get("pandas_type"))
        if kind == "categorical":
            lost[column["name"]] = bool((column.get("metadata") or {}).get("ordered"))
        elif kind in NULLABLE:
            lost[column["name"]] = kind
    return lost


# pandas' nullable dtypes as fastparquet names them in its metadata
NULLABLE = {f"{u}Int{b}" for u in ("", "U") for b in (8, 16, 32, 64)} | {
    "boolean",
    "Float32",
    "Float64",
}


def _ordered(frame: pd.DataFrame, lost: dict[str, Any]) -> pd.DataFrame:
    """Back to the dtypes the writer had: ordered categoricals, nullable integers and
    booleans (read by pyarrow as float or object)."""
    for name, want in lost.items():
        if name not in frame.columns:
            continue
        if want is True:
            frame[name] = frame[name].cat.as_ordered()
        elif isinstance(want, str):
            frame[name] = frame[name].astype(want)
    return frame
