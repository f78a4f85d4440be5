"""Cell-by-cell dtype coercion, so that one bad cell fails its row and not its column."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandera.engines import pandas_engine
from pandera.errors import ParserError

from mlconf.ml.validation.failures import Failure

_MAX_PROBED_VALUES = 10_000


def _nullable_counterpart(dtype: str) -> Any:
    """The masked dtype for numpy int/bool, so that probing coercion survives missing cells."""
    try:
        np_dtype = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return dtype
    if isinstance(np_dtype, np.dtype):
        if np_dtype.kind == "i":
            return f"Int{np_dtype.itemsize * 8}"
        if np_dtype.kind == "u":
            return f"UInt{np_dtype.itemsize * 8}"
        if np_dtype.kind == "b":
            return "boolean"
    return dtype


def _bad_cells(series: pd.Series, engine_dtype: Any, exc: ParserError) -> pd.Series:
    """Which cells made coercion fail; pandera names them in most cases, else probe values."""
    bad = pd.Series(False, index=series.index)
    cases = exc.failure_cases
    if isinstance(cases, pd.DataFrame) and "index" in cases and len(cases):
        found = cases["index"].dropna()
        bad[bad.index.isin(list(found))] = True
        if bad.any():
            return bad
    try:
        values = pd.unique(series.dropna())
    except TypeError:
        return bad
    if len(values) > _MAX_PROBED_VALUES:
        return bad
    wrong = []
    for value in values:
        try:
            engine_dtype.try_coerce(pd.Series([value], dtype=object))
        except Exception:
            wrong.append(value)
    if wrong:
        bad = series.isin(wrong) & series.notna()
    return bad


def coerce_cells(
    work: pd.DataFrame, dtypes: Mapping[str, str]
) -> tuple[pd.DataFrame, list[Failure], set[str]]:
    """Coerce column by column so that one bad cell fails its row, not the whole column.

    Cells that cannot be converted are recorded and blanked, so the remaining checks run on
    a properly typed column. Returns the frame, the failures and the columns that could not
    be converted at all.
    """
    failures: list[Failure] = []
    broken: set[str] = set()
    for name, dtype in dtypes.items():
        if name not in work.columns or isinstance(work[name], pd.DataFrame):
            continue
        series = work[name]
        engine_dtype = pandas_engine.Engine.dtype(_nullable_counterpart(dtype))
        try:
            work[name] = engine_dtype.try_coerce(series)
            continue
        except ParserError as exc:
            bad = _bad_cells(series, engine_dtype, exc)
        check = f"coerce_dtype('{dtype}')"
        if bad.any():
            try:
                coerced = engine_dtype.try_coerce(series.mask(bad))
            except (ParserError, TypeError, ValueError):
                coerced = None
            if coerced is not None:
                work[name] = coerced
                failures.extend(
                    Failure(name, check, int(label), series.loc[label])
                    for label in bad.index[bad.to_numpy()]
                )
                continue
        broken.add(name)
        failures.append(Failure(name, check, None, f"column of dtype {series.dtype}"))
    return work, failures, broken
