"""Data sources: each returns a pandas DataFrame; the load stage fingerprints what was read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError, did_you_mean
from mlconf.registry import register
from mlconf.secrets import mask_text

if TYPE_CHECKING:
    import pandas as pd

SKLEARN_DATASETS = ("breast_cancer", "wine", "diabetes", "iris")
# Past this many columns every stage slows to minutes (2 rows x 100,001 columns: 20 s to
# prepare, minutes to fit), so a wider CSV is refused before it is read.
MAX_COLUMNS = 10_000


def existing_file(path: str | None, kind: str) -> Path:
    """A readable, non-empty file, or an error that says which and how to fix it."""
    if not path:
        raise MlconfError(
            f"a {kind} source needs a `path`", fix=f"add `path: data/my_table.{kind}`"
        )
    p = Path(path).expanduser()
    if not p.exists():
        raise MlconfError(
            f"file '{p}' does not exist (looked relative to {Path.cwd()})",
            fix="correct the path, or give an absolute one",
        )
    if p.is_dir() and kind != "parquet":
        raise MlconfError(f"'{p}' is a folder, not a {kind} file", fix="point `path` at a file")
    if p.is_file() and p.stat().st_size == 0:
        raise MlconfError(f"file '{p}' is empty (0 bytes)", fix="point `path` at a file with data")
    return p


@register("source", "csv")
def csv(path: str | None = None, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A CSV file; `options` go to pandas.read_csv (e.g. sep, engine: pyarrow)."""
    import pandas as pd

    p = existing_file(path, "csv")
    opts = {"encoding": "utf-8-sig", **(options or {})}
    _check_header(p, opts)
    try:
        return pd.read_csv(p, **opts)
    except pd.errors.EmptyDataError as exc:
        raise MlconfError(f"file '{p}' has no columns or rows", fix="check the file") from exc
    except pd.errors.ParserError as exc:
        raise MlconfError(
            f"file '{p}' is not well-formed CSV: {exc}".rstrip(),
            fix="repair the file; rows must all have the header's number of fields "
            "(or set the delimiter with options.sep)",
        ) from exc
    except UnicodeDecodeError as exc:
        raise MlconfError(
            f"file '{p}' is not text in {opts['encoding']} ({exc.reason} at byte {exc.start})",
            fix="convert it to UTF-8, or set options.encoding to its encoding",
        ) from exc


def _check_header(path: Path, opts: dict[str, Any]) -> None:
    """pandas renames a repeated header to `a.1`: say so instead of training on it. Refuse
    more than MAX_COLUMNS columns unless `usecols` picks some."""
    import csv as _csv

    if opts.get("header", "infer") is None or "names" in opts:
        return
    try:
        with path.open(newline="", encoding=opts["encoding"]) as fh:
            header = next(_csv.reader(fh, delimiter=opts.get("sep", ",")), [])
    except (UnicodeDecodeError, _csv.Error, TypeError):
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


@register("source", "parquet")
def parquet(path: str | None = None, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A Parquet file or folder of files, read with pyarrow."""
    import pandas as pd
    import pyarrow as pa

    p = existing_file(path, "parquet")
    try:
        return pd.read_parquet(p, engine="pyarrow", **(options or {}))
    except (pa.ArrowInvalid, OSError) as exc:
        raise MlconfError(
            f"file '{p}' cannot be read as Parquet: {exc}", fix="check that it is a Parquet file"
        ) from exc


@register("source", "sql")
def sql(
    url: str | None = None, query: str | None = None, options: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The result of a SQL query on any SQLAlchemy URL (SQLite, PostgreSQL, ...)."""
    import pandas as pd
    import sqlalchemy as sa

    if not url or not query:
        raise MlconfError(
            "a sql source needs both `url` and `query`",
            fix="e.g. url: sqlite:///data/shop.db and query: SELECT * FROM orders",
        )
    engine, shown = sql_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn, **(options or {}))
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise MlconfError(
            f"the query failed on {shown}: {detail}",
            fix="check the table and column names in `query`",
        ) from exc
    finally:
        engine.dispose()


def sql_engine(url: str) -> tuple[Any, str]:
    """An SQLAlchemy engine for `url` and the URL as shown in messages (no password).

    A SQLite file that does not exist is an error, not a new empty database.
    """
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise MlconfError(
            f"'{mask_text(url)}' is not a database URL",
            fix="use dialect://user@host/db, or sqlite:///path",
        ) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db = Path(parsed.database)
        if not db.is_file():
            raise MlconfError(
                f"SQLite database '{db}' does not exist (looked relative to {Path.cwd()})",
                fix="correct the path in the URL (sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db)",
            )
    shown = parsed.render_as_string(hide_password=True)
    try:
        return sa.create_engine(url), shown
    except ImportError as exc:
        raise MlconfError(
            f"the database driver for {shown} is not installed ({exc})",
            fix=f"install the driver for {parsed.drivername} (e.g. pip install psycopg2-binary "
            "for postgresql, PyMySQL for mysql+pymysql)",
        ) from exc


@register("source", "sklearn")
def sklearn_dataset(dataset: str | None = None) -> pd.DataFrame:
    """A dataset bundled with scikit-learn; class targets are given their names."""
    from sklearn import datasets

    if dataset not in SKLEARN_DATASETS:
        raise MlconfError(
            f"unknown scikit-learn dataset '{dataset}'."
            f"{did_you_mean(str(dataset), SKLEARN_DATASETS)}",
            fix=f"use one of: {', '.join(SKLEARN_DATASETS)}",
        )
    bunch = getattr(datasets, f"load_{dataset}")(as_frame=True)
    frame = bunch.frame.copy()
    names = getattr(bunch, "target_names", None)
    if names is not None and dataset != "diabetes":
        frame["target"] = [str(names[i]) for i in frame["target"]]
    return frame


@register("source", "embedded")
def embedded(dataset: str | None = None, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A CSV dataset shipped inside mlconf (see mlconf/datasets)."""
    from mlconf.datasets import EMBEDDED, embedded_path

    if dataset not in EMBEDDED:
        raise MlconfError(
            f"unknown embedded dataset '{dataset}'.{did_you_mean(str(dataset), EMBEDDED)}",
            fix=f"use one of: {', '.join(EMBEDDED)}",
        )
    return csv(str(embedded_path(dataset)), options)
