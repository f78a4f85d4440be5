"""Tables on disk and in databases, read and written one way for every caller.

The training sources, the Dask reader and `mlconf predict` all read CSV, Parquet and SQL
queries; the formats, the file checks and their messages live here once so the three
cannot drift apart. A base module: it imports no layer that uses it, and its readers
import pandas, pyarrow, dask and SQLAlchemy only when called, so `mlconf --help` stays fast.
"""
