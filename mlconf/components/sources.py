"""Data sources: each returns a pandas DataFrame; the load stage fingerprints what was read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.store.tables.files import existing_file

if TYPE_CHECKING:
    import pandas as pd

SKLEARN_DATASETS = ("breast_cancer", "wine", "diabetes", "iris")


@register("source", "csv")
def csv(path: str | None = None, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A CSV file; `options` go to pandas.read_csv (e.g. sep, engine: pyarrow)."""
    from mlconf.store.tables.csv_reader import read_csv

    return read_csv(existing_file(path, "csv"), options)


@register("source", "parquet")
def parquet(path: str | None = None, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """A Parquet file or folder of files, read with pyarrow (or fastparquet without it)."""
    from mlconf.store.tables.parquet_reader import read_parquet

    return read_parquet(existing_file(path, "parquet"), options)


@register("source", "sql")
def sql(
    url: str | None = None, query: str | None = None, options: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The result of a SQL query on any SQLAlchemy URL (SQLite, PostgreSQL, ...)."""
    from mlconf.store.tables.sql_reader import read_query

    if not url or not query:
        raise MlconfError(
            "a sql source needs both `url` and `query`",
            fix="e.g. url: sqlite:///data/shop.db and query: SELECT * FROM orders",
        )
    return read_query(url, query, options)


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
    """A CSV dataset shipped inside mlconf (see mlconf/core/datasets)."""
    from mlconf.core.datasets import EMBEDDED, embedded_path

    if dataset not in EMBEDDED:
        raise MlconfError(
            f"unknown embedded dataset '{dataset}'.{did_you_mean(str(dataset), EMBEDDED)}",
            fix=f"use one of: {', '.join(EMBEDDED)}",
        )
    return csv(str(embedded_path(dataset)), options)
