"""SQL queries on any SQLAlchemy URL, read whole or streamed through a server-side cursor.

URLs are shown in messages without their password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text

if TYPE_CHECKING:
    import pandas as pd

CHECK_QUERY = "check the table and column names in `query`"


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


def read_query(url: str, query: str, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """The query's whole result; `options` go to pandas.read_sql_query."""
    import pandas as pd
    import sqlalchemy as sa

    engine, shown = sql_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn, **(options or {}))
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise query_failed(shown, exc, None, CHECK_QUERY) from exc
    finally:
        engine.dispose()


@dataclass
class QueryStream:
    """A running query: its columns now, its rows chunk by chunk (the connection closes
    when the last chunk is read)."""

    shown: str
    columns: list[str]
    chunks: Callable[[], Iterator[pd.DataFrame]]


def stream_query(
    url: str, query: str, chunk_rows: int, *, where: str | None = None, fix: str = CHECK_QUERY
) -> QueryStream:
    """The query run now (so a bad one fails before any output is made), its rows fetched
    `chunk_rows` at a time: memory bounded by the chunk, not the result."""
    import pandas as pd
    import sqlalchemy as sa

    engine, shown = sql_engine(url)
    stack = ExitStack()
    try:
        conn = stack.enter_context(engine.connect().execution_options(stream_results=True))
        result = conn.execute(sa.text(query))
    except sa.exc.SQLAlchemyError as exc:
        stack.close()
        engine.dispose()
        raise query_failed(shown, exc, where, fix) from exc
    keys = result.keys()  # iterating a Result yields rows, not column names
    columns = [str(c) for c in keys]

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            for rows in result.partitions(chunk_rows):
                yield pd.DataFrame.from_records(rows, columns=columns)
        finally:
            stack.close()
            engine.dispose()

    return QueryStream(shown, columns, chunks)


def query_failed(shown: str, exc: Exception, where: str | None, fix: str) -> MlconfError:
    """The database's own first line of complaint, on the URL without its password."""
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return MlconfError(f"the query failed on {shown}: {detail}", where=where, fix=fix)
