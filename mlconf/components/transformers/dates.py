"""Calendar parts from date columns, parsed leniently so one odd row does not fail a fit."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlconf.components.transformers.base import (
    FrameTransformer,
    ParameterError,
    check_choice,
    frame_like,
    iter_columns,
)
from mlconf.components.transformers.values import floats
from mlconf.core.dtypes import kind

DATETIME_PARTS: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "dayofweek",
    "dayofyear",
    "hour",
    "minute",
    "quarter",
    "is_weekend",
)
# config spells parts as pandas 2 did; pandas 3 deprecates these two spellings
_PANDAS_PART_NAMES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}


def _parse_datetimes(series: pd.Series) -> pd.Series:
    """Parse to datetimes, unparseable values to NaT.

    pandas guesses one format from the first value and silently drops rows written
    differently, so a guess that loses values is retried element by element; mixed
    time zones are converted to UTC rather than failing.
    """
    if kind(series.dtype) == "datetime":
        return series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(series, errors="coerce")
            if parsed.isna().sum() > series.isna().sum():
                parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    return parsed


def _datetime_part(stamps: pd.Series, part: str) -> np.ndarray:
    """One calendar part as float64 (NaN where the date is missing)."""
    if part == "is_weekend":
        days = floats(stamps.dt.day_of_week)
        return np.where(np.isnan(days), np.nan, (days >= 5).astype("float64"))
    return floats(getattr(stamps.dt, _PANDAS_PART_NAMES.get(part, part)))


class DatetimeParts(FrameTransformer):
    """Turn date columns into numeric calendar parts (`<col>_<part>`) a model can split on."""

    _takes_text = True

    def __init__(self, *, parts: Sequence[str] = ("year", "month", "dayofweek")) -> None:
        self.parts = parts

    def _parts(self) -> list[str]:
        parts = [self.parts] if isinstance(self.parts, str) else self.parts
        return list(dict.fromkeys(parts))

    def _check_settings(self) -> None:
        parts = self._parts()
        if not parts:
            raise ParameterError(
                "parts is empty",
                where="DatetimeParts",
                fix=f"list at least one of: {', '.join(DATETIME_PARTS)}",
            )
        for part in parts:
            check_choice("DatetimeParts", "parts", part, DATETIME_PARTS)

    def fit(self, X: Any, y: Any = None) -> DatetimeParts:
        frame = self._start_fit(X)
        for _, name, col in iter_columns(frame):
            if col.notna().any() and _parse_datetimes(col).isna().all():
                example = col.dropna().iloc[0]
                raise ParameterError(
                    f"column {name!r} has no value that reads as a date (e.g. {example!r})",
                    where="DatetimeParts",
                    fix="apply datetime_parts only to date columns such as 2024-05-31",
                )
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for _, name, col in iter_columns(frame):
            stamps = _parse_datetimes(col)
            for part in self._parts():
                out[f"{name}_{part}"] = _datetime_part(stamps, part)
        return frame_like(frame, out)

    def _names_out(self, names: list[str]) -> list[str]:
        return [f"{name}_{part}" for name in names for part in self._parts()]
