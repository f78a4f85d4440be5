"""CSV files read whole or chunk by chunk, with pandas' failures told as MlconfErrors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

ENCODING = "utf-8-sig"  # plain UTF-8, and the byte-order mark Excel writes is not a column
# Past this many columns every stage slows to minutes (2 rows x 100,001 columns: 20 s to
# prepare, minutes to fit), so a wider CSV is refused before it is read.
MAX_COLUMNS = 10_000


def read_csv(
    path: Path, options: dict[str, Any] | None = None, *, check_header: bool = True
) -> pd.DataFrame:
    """The file through pandas.read_csv with `options`; `check_header` refuses a repeated
    or too wide header before pandas renames or reads it."""
    import pandas as pd

    opts = {"encoding": ENCODING, **(options or {})}
    if check_header:
        _check_header(path, opts)
    try:
        return pd.read_csv(path, **opts)
    except pd.errors.EmptyDataError as exc:
        raise MlconfError(f"file '{path}' has no columns or rows", fix="check the file") from exc
    except pd.errors.ParserError as exc:
        raise MlconfError(
            f"file '{path}' is not well-formed CSV: {exc}".rstrip(),
            fix="repair the file; rows must all have the header's number of fields "
            "(or set the delimiter with options.sep)",
        ) from exc
    except UnicodeDecodeError as exc:
        raise MlconfError(
            f"file '{path}' is not text in {opts['encoding']} ({exc.reason} at byte {exc.start})",
            fix="convert it to UTF-8, or set options.encoding to its encoding",
        ) from exc


def _check_header(path: Path, opts: dict[str, Any]) -> None:
    """pandas renames a repeated header to `a.1`: say so instead of training on it. Refuse
    more than MAX_COLUMNS columns unless `usecols` picks some."""
    import csv

    if opts.get("header", "infer") is None or "names" in opts:
        return
    try:
        with path.open(newline="", encoding=opts["encoding"]) as fh:
            header = next(csv.reader(fh, delimiter=opts.get("sep", ",")), [])
    except (UnicodeDecodeError, csv.Error, TypeError):
        return  # pandas reports these with the row and the reason
    if len(header) > MAX_COLUMNS and "usecols" not in opts:
        raise MlconfError(
            f"file '{path}' has {len(header):,} columns; mlconf reads at most "
            f"{MAX_COLUMNS:,} columns of a CSV file (every stage would take minutes)",
            fix="keep only the columns you need: list them in the source's options.usecols "
            "(e.g. options: {usecols: [age, income, target]}), or cut the file down",
        )
    from collections import Counter

    repeated = sorted(name for name, n in Counter(header).items() if n > 1)
    if repeated:
        raise MlconfError(
            f"file '{path}' has duplicate column names: {', '.join(repeated)} (in its header)",
            fix="rename the columns so that each name is unique",
        )


def iter_csv(
    path: Path, chunk_rows: int, *, text: Sequence[str] = (), where: str | None = None
) -> Iterator[pd.DataFrame]:
    """The file `chunk_rows` rows at a time (memory bounded by the chunk, not the file);
    the `text` columns are read as text whatever their values look like."""
    import pandas as pd

    dtypes = {c: "str" for c in text}
    with pd.read_csv(path, chunksize=chunk_rows, encoding=ENCODING, dtype=dtypes or None) as reader:
        start = 0
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
                raise MlconfError(
                    f"file '{path}' cannot be read past row {start:,}: "
                    f"{str(exc).strip().splitlines()[0]}",
                    where=where,
                    fix="repair the file; every row must have the header's fields",
                ) from exc
            start += len(chunk)
            yield chunk
