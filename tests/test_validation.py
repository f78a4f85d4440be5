"""Schema validation: lazy reports, quarantine and a property test over random schemas."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_cases import error_of, failures_of, schema

from mlconf.ml.validation import (
    validate,
)

# --- reporting and quarantine ---------------------------------------------------------------


def test_fail_reports_every_failure_at_once_with_where_and_fix() -> None:
    frame = pd.DataFrame({"hp": [100, 5, 900], "origin": ["USA", "Mars", "Japan"]})
    cfg = schema(
        {"hp": {"dtype": "float", "min": 20, "max": 400}, "origin": {"allowed": ["USA", "Japan"]}},
        on_error="fail",
    )
    message = error_of(frame, cfg, source="cars.csv")
    assert "3 schema failure(s) in 2 row(s)" in message
    assert "greater_than_or_equal_to(20)" in message and "less_than_or_equal_to(400)" in message
    assert "'Mars'" in message and "cars.csv" in message
    assert "on_error=quarantine" in message
    header = next(line for line in message.splitlines() if "column" in line and "check" in line)
    assert header.split() == ["column", "check", "row", "value"]


def test_fail_table_is_cut_after_twenty_failures() -> None:
    frame = pd.DataFrame({"a": range(-25, 0)})
    message = error_of(frame, schema({"a": {"min": 0}}, on_error="fail"))
    assert "... and 5 more" in message
    assert message.count("greater_than_or_equal_to(0)") == 20


def test_quarantine_keeps_good_rows_and_joins_every_reason_of_a_row() -> None:
    frame = pd.DataFrame(
        {"Horsepower": [130, 5, 150, 160], "Origin": ["USA", "Mars", "Europe", "Japan"]},
        index=[10, 11, 12, 13],
    )
    cfg = schema(
        {
            "Horsepower": {"dtype": "float", "min": 20},
            "Origin": {"dtype": "str", "allowed": ["USA", "Europe", "Japan"]},
        }
    )
    result = validate(frame, cfg)
    assert result.n_checked == 4
    assert list(result.valid.index) == [10, 12, 13]
    assert result.valid["Horsepower"].dtype == "float64"
    assert len(result.quarantined) == 1
    row = result.quarantined.iloc[0]
    assert row["_row"] == 11 and row["Horsepower"] == 5 and row["Origin"] == "Mars"
    assert row["_reasons"] == (
        "Horsepower: greater_than_or_equal_to(20) got 5; "
        "Origin: isin(['USA', 'Europe', 'Japan']) got 'Mars'"
    )
    assert list(result.failures.columns) == ["column", "check", "row", "value"]
    assert len(result.failures) == 2


def test_cell_that_cannot_be_coerced_is_quarantined_and_the_rest_coerced() -> None:
    frame = pd.DataFrame({"cyl": ["4", "abc", "6", None, "8"], "hp": [1, 2, 3, 4, 5]})
    cfg = schema({"cyl": {"dtype": "int", "nullable": False, "min": 3}, "hp": {"max": 2}})
    result = validate(frame, cfg)
    assert result.valid["cyl"].dtype == "int64"
    assert list(result.valid["cyl"]) == [4]
    reasons = dict(zip(result.quarantined["_row"], result.quarantined["_reasons"], strict=True))
    assert reasons == {
        1: "cyl: coerce_dtype('int64') got 'abc'",
        2: "hp: less_than_or_equal_to(2) got 3",
        3: "cyl: not_nullable got missing; hp: less_than_or_equal_to(2) got 4",
        4: "hp: less_than_or_equal_to(2) got 5",
    }


def test_non_integral_float_in_int_column_is_a_row_failure() -> None:
    result = validate(pd.DataFrame({"a": [1.0, 2.5, 3.0]}), schema({"a": {"dtype": "int"}}))
    assert failures_of(result) == {("a", "coerce_dtype('Int64')", 1)}
    assert list(result.valid["a"]) == [1, 3]


def test_every_row_failing_is_an_error_even_in_quarantine() -> None:
    message = error_of(pd.DataFrame({"a": [-1, -2]}), schema({"a": {"min": 0}}))
    assert "every row failed" in message


def test_unknown_on_error_names_allowed_values() -> None:
    message = error_of(pd.DataFrame({"a": [1]}), schema({}, on_error="skip"))
    assert "skip" in message and "fail" in message and "quarantine" in message


def test_clean_data_gives_empty_quarantine_and_failures() -> None:
    result = validate(pd.DataFrame({"a": [1, 2]}), schema({"a": {"dtype": "int"}}))
    assert result.quarantined.empty and "_reasons" in result.quarantined.columns
    assert result.failures.empty and result.n_checked == 2


# --- property: valid data passes; one injected violation is one failure ----------------------

ALPHABET = "abcxy"


@st.composite
def column_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["int", "float", "str"]))
    spec: dict[str, Any] = {"dtype": kind, "nullable": draw(st.booleans())}
    rule = draw(
        st.sampled_from(["none", "allowed"] if kind == "str" else ["none", "range", "allowed"])
    )
    if rule == "range":
        low = draw(st.integers(-100, 100))
        if draw(st.booleans()):
            spec["min"] = low
        if draw(st.booleans()) or "min" not in spec:
            spec["max"] = low + draw(st.integers(0, 100))
    elif rule == "allowed":
        values: st.SearchStrategy[Any] = {
            "int": st.integers(-50, 50),
            "float": st.integers(-50, 50).map(lambda v: v / 4),
            "str": st.text(ALPHABET, min_size=1, max_size=3),
        }[kind]
        spec["allowed"] = sorted(draw(st.sets(values, min_size=1, max_size=4)))
    return spec


def valid_values(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "allowed" in spec:
        values: st.SearchStrategy[Any] = st.sampled_from(spec["allowed"])
    elif spec["dtype"] == "str":
        values = st.text(ALPHABET, max_size=4)
    else:
        low, high = spec.get("min", -1000), spec.get("max", 1000)
        if spec["dtype"] == "int":
            values = st.integers(low, high)
        else:
            values = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.one_of(st.none(), values) if spec["nullable"] else values


def violations(spec: dict[str, Any]) -> list[Any]:
    """Values that break exactly one rule of the column."""
    out: list[Any] = []
    if not spec["nullable"]:
        out.append(None)
    if spec["dtype"] != "str":
        out.append("not a number")
    if "min" in spec:
        out.append(spec["min"] - 1)
    if "max" in spec:
        out.append(spec["max"] + 1)
    if "allowed" in spec:
        out.append("zzz" if spec["dtype"] == "str" else max(spec["allowed"]) + 1)
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_property_valid_data_passes_and_one_violation_is_one_failure(data: st.DataObject) -> None:
    specs = data.draw(st.lists(column_specs(), min_size=1, max_size=4), label="specs")
    columns = {f"c{i}": spec for i, spec in enumerate(specs)}
    n_rows = data.draw(st.integers(2, 12), label="rows")
    frame = pd.DataFrame(
        {
            name: pd.Series(
                data.draw(st.lists(valid_values(spec), min_size=n_rows, max_size=n_rows)),
                dtype=object,
            )
            for name, spec in columns.items()
        }
    )
    cfg = schema(columns)

    clean = validate(frame, cfg)
    assert clean.failures.empty and clean.quarantined.empty
    assert len(clean.valid) == n_rows

    breakable = [name for name, spec in columns.items() if violations(spec)]
    if not breakable:
        return
    column = data.draw(st.sampled_from(breakable), label="column")
    row = data.draw(st.integers(0, n_rows - 1), label="row")
    value = data.draw(st.sampled_from(violations(columns[column])), label="value")
    broken = frame.copy()
    broken.loc[row, column] = value

    result = validate(broken, cfg)
    assert len(result.failures) == 1, result.failures
    failure = result.failures.iloc[0]
    assert failure["column"] == column and failure["row"] == row
    assert list(result.quarantined["_row"]) == [row]
    assert len(result.valid) == n_rows - 1
