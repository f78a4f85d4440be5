"""A file's format, told by its name: the one table of suffixes every reader consults."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

FILE_FORMATS = ("csv", "parquet")
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# pandas decompresses a CSV file by the suffix after `.csv`
COMPRESSIONS = (".gz", ".zst")


def suffixes(fmt: str, compressions: Sequence[str] = ()) -> tuple[str, ...]:
    """The name endings of `fmt`: its suffixes, and for CSV each one compressed."""
    plain = tuple(suffix for suffix, kind in SUFFIXES.items() if kind == fmt)
    if fmt != "csv":
        return plain
    return (*plain, *(f"{suffix}{c}" for suffix in plain for c in compressions))


def format_of(name: str | Path, compressions: Sequence[str] = ()) -> str | None:
    """`csv` or `parquet` for a file name (a compressed CSV counts only with `compressions`
    named), None when the name says neither."""
    ending = "".join(Path(name).suffixes[-2:]).lower()
    for fmt in FILE_FORMATS:
        if ending.endswith(suffixes(fmt, compressions)):
            return fmt
    return None
