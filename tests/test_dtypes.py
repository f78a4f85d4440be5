"""mlconf.core.dtypes.kind, and the callers that map its vocabulary to their own words."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlconf.components._columns import column_kind as family
from mlconf.core.dtypes import KINDS, NUMBERS, is_number, kind
from mlconf.ml.explore.columns import column_kind as profile_kind
from mlconf.ml.validation.inference import _friendly as schema_dtype
from mlconf.serve.schema import _kind_of_dtype as request_type

# dtype, kind, serving request type, column family, profile kind (None: by values), schema dtype
CASES: list[tuple[str, str, str, str, str | None, str]] = [
    ("bool", "boolean", "bool", "categorical", "boolean", "bool"),
    ("int8", "integer", "int", "numeric", "numeric", "int"),
    ("uint64", "integer", "int", "numeric", "numeric", "int"),
    ("Int64", "integer", "int", "numeric", "numeric", "int"),
    ("UInt32", "integer", "int", "numeric", "numeric", "int"),
    ("float32", "float", "float", "numeric", "numeric", "float"),
    ("float64", "float", "float", "numeric", "numeric", "float"),
    ("Float64", "float", "float", "numeric", "numeric", "float"),
    ("boolean", "boolean", "bool", "categorical", "boolean", "bool"),
    ("complex128", "number", "float", "numeric", "numeric", "complex128"),
    ("datetime64[ns]", "datetime", "any", "datetime", "datetime", "datetime"),
    ("datetime64[s]", "datetime", "any", "datetime", "datetime", "datetime"),
    ("datetime64[ns, UTC]", "datetime", "any", "datetime", "datetime", "datetime64[ns, UTC]"),
    ("timedelta64[ns]", "other", "any", "categorical", None, "timedelta64[ns]"),
    ("category", "category", "str", "categorical", "categorical", "category"),
    ("object", "text", "str", "categorical", None, "str"),
    ("str", "text", "str", "categorical", None, "str"),
    ("string", "text", "str", "categorical", None, "str"),
    ("S3", "text", "str", "categorical", None, "str"),
    ("period[D]", "other", "any", "categorical", None, "period[D]"),
    ("interval[int64]", "other", "any", "categorical", None, "interval[int64, right]"),
    ("int64[pyarrow]", "integer", "int", "numeric", "numeric", "int"),
    ("bool[pyarrow]", "boolean", "bool", "categorical", "boolean", "bool"),
    ("double[pyarrow]", "float", "float", "numeric", "numeric", "float"),
    ("string[pyarrow]", "text", "str", "categorical", None, "str"),
    ("timestamp[us][pyarrow]", "datetime", "any", "datetime", "datetime", "datetime"),
]


@pytest.mark.parametrize(
    ("name", "expected", "field_type", "column_family", "profile", "schema"), CASES
)
def test_kind_and_every_callers_word_for_it(
    name: str, expected: str, field_type: str, column_family: str, profile: str | None, schema: str
) -> None:
    dtype = pd.api.types.pandas_dtype(name)
    empty = pd.Series([], dtype=dtype)
    assert kind(dtype) == expected
    assert request_type(dtype) == field_type
    assert family(dtype) == column_family
    # a dtype that does not decide the profile kind leaves it to the values (none here)
    assert profile_kind(empty) == (profile or "categorical")
    assert schema_dtype(empty) == schema


def test_every_kind_has_a_case() -> None:
    assert {case[1] for case in CASES} == set(KINDS)


def test_profile_judges_object_columns_by_their_values() -> None:
    assert profile_kind(pd.Series([True, False, None], dtype=object)) == "boolean"
    long = "a sentence of several words that goes on"
    assert profile_kind(pd.Series([long, long + " more"], dtype=object)) == "text"
    assert profile_kind(pd.Series(["a", "b"], dtype=object)) == "categorical"


# numpy's own kind letter says what mlconf's kind must be
_BY_LETTER = {
    "b": "boolean",
    "i": "integer",
    "u": "integer",
    "f": "float",
    "c": "number",
    "M": "datetime",
    "m": "other",
    "S": "text",
    "U": "text",
    "O": "text",
}
NUMPY_DTYPES = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
    st.just(np.dtype(object)),
)


@settings(max_examples=200, deadline=None)
@given(NUMPY_DTYPES)
def test_numpy_dtypes_follow_their_kind_letter(dtype: np.dtype[Any]) -> None:
    assert kind(dtype) == _BY_LETTER[dtype.kind]
    assert is_number(dtype) == (dtype.kind in "iufc")


PANDAS_DTYPES = st.one_of(
    st.sampled_from(["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt64"]).map(
        pd.api.types.pandas_dtype
    ),
    st.sampled_from(["Float32", "Float64", "boolean", "string", "str"]).map(
        pd.api.types.pandas_dtype
    ),
    st.builds(
        pd.DatetimeTZDtype,
        st.sampled_from(["s", "ms", "us", "ns"]),
        st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
    ),
    st.lists(st.text(max_size=3), max_size=4, unique=True).map(pd.CategoricalDtype),
    st.lists(st.integers(), max_size=4, unique=True).map(pd.CategoricalDtype),
    st.sampled_from(["D", "M", "h"]).map(pd.PeriodDtype),
)


@settings(max_examples=200, deadline=None)
@given(PANDAS_DTYPES)
def test_pandas_dtypes_get_one_kind_in_the_vocabulary(dtype: Any) -> None:
    found = kind(dtype)
    assert found in KINDS
    types = pd.api.types
    numeric = types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype)
    assert (found in NUMBERS) == numeric == is_number(dtype)
    assert (found == "datetime") == types.is_datetime64_any_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        assert found == "category"


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.lists(st.booleans(), min_size=1).map(lambda v: ("boolean", pd.Series(v))),
        st.lists(st.integers(-(2**40), 2**40), min_size=1).map(lambda v: ("integer", pd.Series(v))),
        st.lists(st.floats(allow_nan=True), min_size=1).map(lambda v: ("float", pd.Series(v))),
        st.lists(st.text(), min_size=1).map(lambda v: ("text", pd.Series(v))),
    )
)
def test_columns_built_from_values_get_the_kind_of_their_values(case: tuple[str, Any]) -> None:
    expected, series = case
    assert kind(series.dtype) == expected
