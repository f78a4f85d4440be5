"""The kind of a column's dtype, decided in one place for every part of mlconf.

Column pickers, the data profile, schema inference and the serving request model all
need to know whether a column holds booleans, numbers, dates, categories or text. They
ask `kind` and map its small vocabulary to their own words, so that a new pandas dtype
(or a change in pandas' predicates) is handled once, the same way everywhere.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

Kind = Literal["boolean", "integer", "float", "number", "datetime", "category", "text", "other"]
KINDS: tuple[Kind, ...] = (
    "boolean",  # numpy bool, pandas' nullable boolean, pyarrow bool
    "integer",  # signed and unsigned, numpy or nullable (Int64)
    "float",  # numpy or nullable (Float64) floats
    "number",  # other numbers pandas calls numeric (complex)
    "datetime",  # datetime64 of any unit, with or without a time zone
    "category",  # pandas categoricals, whatever their categories
    "text",  # str, string, bytes and object columns (object: whatever Python values)
    "other",  # timedelta, period, interval, nested pyarrow types, ...
)
# Numbers a model can do arithmetic on; booleans are not among them (fences, logs, bins
# make no sense on 0/1).
NUMBERS: frozenset[Kind] = frozenset({"integer", "float", "number"})


def kind(dtype: Any) -> Kind:
    """The kind of `dtype` (a numpy or pandas dtype, or anything pandas reads as one).

    The order of the tests matters: pandas calls booleans (and sparse datetimes) numeric,
    and an object column is "text" by its dtype alone; callers that need to look at
    values do so themselves.
    """
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_numeric_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_string_dtype(dtype) or types.is_object_dtype(dtype):
        return "text"
    return "other"


def is_number(dtype: Any) -> bool:
    """Whether a column holds numbers proper (not booleans)."""
    return kind(dtype) in NUMBERS
