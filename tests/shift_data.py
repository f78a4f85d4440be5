"""Make "production" data whose distribution is shifted on purpose, for the monitor tests.

    python tests/shift_data.py IN.csv OUT.csv COLUMN [COLUMN ...]

Numeric columns move up by two of their standard deviations; string columns have
their most common value replaced by a value never seen before ("NEW-<value>").
Every other column is copied unchanged.
"""

from __future__ import annotations

import sys

import pandas as pd


def shift(frame: pd.DataFrame, columns: list[str], seed: int = 0) -> pd.DataFrame:
    shifted = frame.copy()
    for column in columns:
        series = shifted[column]
        if pd.api.types.is_numeric_dtype(series):
            shifted[column] = series + 2 * float(series.std())
        else:
            top = series.mode().iloc[0]
            shifted[column] = series.where(series != top, f"NEW-{top}")
    return shifted


def main(argv: list[str]) -> int:
    source, target, *columns = argv
    frame = pd.read_csv(source)
    shift(frame, columns).to_csv(target, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
