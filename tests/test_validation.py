"""Schema validation: every rule type, lazy reports, quarantine, inference and a property test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from mlconf.config import ColumnSchema, NamedSpec, SchemaConfig
from mlconf.errors import MlconfError
from mlconf.registry import register
from mlconf.validation import (
    ValidationResult,
    build_schema,
    infer_schema,
    schema_yaml,
    validate,
)

CARS = Path(__file__).resolve().parents[1] / "mlconf" / "datasets" / "cars.csv"


@register("check", "tests_even")
def _even() -> Callable[[pd.Series], pd.Series]:
    """Values must be even (a check registered by the test suite)."""
    return lambda series: series % 2 == 0


def schema(columns: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"on_error": "quarantine", "coerce": True, **top, "columns": columns}


def failures_of(result: ValidationResult) -> set[tuple[str, str, Any]]:
    return {(r["column"], r["check"], r["row"]) for r in result.failures.to_dict("records")}


def error_of(frame: pd.DataFrame, cfg: Any, **kwargs: Any) -> str:
    with pytest.raises(MlconfError) as info:
        validate(frame, cfg, **kwargs)
    return str(info.value)


# --- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "values", "expected"),
    [
        ("int", ["1", "2", "3"], "int64"),
        ("float", ["1.5", "2", "3"], "float64"),
        ("str", [1, 2, 3], "str"),
        ("bool", [True, False, True], "bool"),
        ("datetime", ["2020-01-01", "2021-06-30", "2022-12-31"], "datetime64[ns]"),
        ("category", ["a", "b", "a"], "category"),
        ("int32", [1, 2, 3], "int32"),
    ],
)
def test_dtype_is_coerced(dtype: str, values: list[Any], expected: str) -> None:
    cfg = schema({"a": {"dtype": dtype, "nullable": False}})
    result = validate(pd.DataFrame({"a": values}), cfg)
    assert str(result.valid["a"].dtype) == expected
    assert result.failures.empty


def test_nullable_int_uses_masked_dtype_so_missing_values_survive_coercion() -> None:
    result = validate(pd.DataFrame({"a": [1.0, None, 3.0]}), schema({"a": {"dtype": "int"}}))
    assert str(result.valid["a"].dtype) == "Int64"
    assert result.valid["a"].isna().sum() == 1


def test_unknown_dtype_names_column_and_friendly_names() -> None:
    with pytest.raises(MlconfError) as info:
        build_schema(schema({"price": {"dtype": "number"}}))
    message = str(info.value)
    assert "price" in message and "number" in message
    for name in ("int", "float", "str", "bool", "datetime", "category"):
        assert name in message


@pytest.mark.parametrize(
    ("rule", "values", "bad_row", "check"),
    [
        ({"dtype": "float", "min": 0}, [1.0, -1.0, 2.0], 1, "greater_than_or_equal_to(0)"),
        ({"dtype": "float", "max": 10}, [1.0, 11.0, 2.0], 1, "less_than_or_equal_to(10)"),
        ({"dtype": "str", "allowed": ["x", "y"]}, ["x", "y", "z"], 2, "isin(['x', 'y'])"),
        ({"dtype": "str", "regex": "[a-z]+"}, ["ab", "ab1", "c"], 1, "regex('[a-z]+')"),
        ({"dtype": "int", "nullable": False}, [1, None, 3], 1, "not_nullable"),
        ({"dtype": "int", "unique": True}, [1, 2, 3, 2], 3, "unique"),
    ],
)
def test_each_rule_reports_the_failing_row(
    rule: dict[str, Any], values: list[Any], bad_row: int, check: str
) -> None:
    result = validate(pd.DataFrame({"a": values}), schema({"a": rule}))
    assert (("a", check, bad_row)) in failures_of(result)
    assert bad_row in set(result.quarantined["_row"])


def test_regex_must_match_the_whole_value() -> None:
    cfg = schema({"code": {"dtype": "str", "regex": r"[A-Z]{2}\d"}})
    result = validate(pd.DataFrame({"code": ["AB1", "AB12", "xAB1", "CD9"]}), cfg)
    assert sorted(result.quarantined["_row"]) == [1, 2]


# A lookaround makes RE2 refuse the pattern; the nested alternation backtracks
# exponentially on a long run of letters that ends in a character it cannot match.
REDOS = "(?=[a-z])([a-z]|[a-z])+"


def test_a_backtracking_regex_is_bounded_and_named(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 13 item 8: one crafted value took `re` minutes; now it is set aside."""
    cfg = schema({"make": {"dtype": "str", "regex": REDOS}})
    crafted = "a" * 40 + "!"
    with caplog.at_level("WARNING", logger="mlconf.validation"):
        result = validate(pd.DataFrame({"make": ["ford", crafted, "volvo", "Ford"]}), cfg)
    assert sorted(result.quarantined["_row"]) == [1, 3]
    assert ("make", f"regex({REDOS!r})", 1) in failures_of(result)
    assert "column 'make'" in caplog.text and REDOS in caplog.text
    assert "schema.columns.make.regex" in caplog.text


def test_regex_rules_agree_on_both_engines() -> None:
    from mlconf.regex_rules import engine_of, full_matches

    values = ["AB1", "AB12", "xAB1", "CD9", "", "AB1\n"]
    expected = [True, False, False, True, False, False]
    assert engine_of(r"[A-Z]{2}\d") == "re2"
    assert full_matches(r"[A-Z]{2}\d", values).matched == expected
    assert engine_of(r"(?=[A-Z])[A-Z]{2}\d") == "backtracking"
    assert full_matches(r"(?=[A-Z])[A-Z]{2}\d", values).matched == expected


def test_regex_gives_up_after_max_slow_values() -> None:
    from mlconf.regex_rules import full_matches

    crafted = "a" * 40 + "!"
    result = full_matches(REDOS, [crafted, crafted, "ok", "fine"], timeout=0.01, max_slow=2)
    assert (result.timed_out, result.skipped) == ([0, 1], [2, 3])
    assert result.matched == [False] * 4


def test_unique_sets_aside_every_duplicate() -> None:
    result = validate(pd.DataFrame({"id": [1, 2, 2, 3]}), schema({"id": {"unique": True}}))
    assert sorted(result.quarantined["_row"]) == [1, 2]
    assert list(result.valid["id"]) == [1, 3]


def test_optional_column_may_be_absent_but_required_one_is_fatal() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    result = validate(frame, schema({"a": {"dtype": "int"}, "b": {"required": False}}))
    assert len(result.valid) == 2

    message = error_of(frame, schema({"a": {"dtype": "int"}, "Year": {"dtype": "int"}}))
    assert "Year" in message and "missing required column" in message
    assert "required: false" in message  # how to fix


def test_missing_required_column_is_fatal_even_with_row_failures_to_quarantine() -> None:
    frame = pd.DataFrame({"a": [1, -2, 3]})
    cfg = schema({"a": {"dtype": "int", "min": 0}, "b": {"dtype": "float"}})
    message = error_of(frame, cfg, source="orders.csv")
    assert "orders.csv" in message and "missing required column" in message
    assert "cannot be quarantined" in message


def test_target_must_be_present_even_when_not_listed() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    assert "label" in build_schema(schema({}), target="label").columns
    message = error_of(frame, schema({"a": {"dtype": "int"}}), target="label")
    assert "label" in message and "missing required column" in message


def test_strict_rejects_unexpected_columns() -> None:
    frame = pd.DataFrame({"a": [1, 2], "extra": [3, 4]})
    message = error_of(frame, schema({"a": {"dtype": "int"}}, strict=True))
    assert "extra" in message and "strict" in message
    assert len(validate(frame, schema({"a": {"dtype": "int"}})).valid) == 2


def test_without_coerce_a_wrong_column_dtype_is_a_column_failure() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]})
    message = error_of(frame, schema({"a": {"dtype": "float"}}, coerce=False))
    assert "dtype('float64')" in message and "coerce=true" in message
    assert validate(frame, schema({"a": {"dtype": "float"}})).valid["a"].dtype == "float64"


def test_min_max_on_text_column_is_a_config_error() -> None:
    with pytest.raises(MlconfError, match="min/max"):
        build_schema(schema({"name": {"dtype": "str", "min": 1}}))


def test_unknown_column_key_is_a_config_error() -> None:
    with pytest.raises(MlconfError, match="nulable") as info:
        build_schema(schema({"a": {"nulable": False}}))
    assert "nullable" in str(info.value)


def test_schema_accepts_dataclass_dictconfig_and_dict() -> None:
    dataclass_cfg = SchemaConfig(
        on_error="quarantine",
        columns={"a": ColumnSchema(dtype="int", min=0, checks=[NamedSpec(name="positive")])},
    )
    structured = OmegaConf.merge(
        OmegaConf.structured(SchemaConfig),
        {"on_error": "quarantine", "columns": {"a": {"dtype": "int", "min": 0}}},
    )
    assert isinstance(structured, DictConfig)
    plain = OmegaConf.to_container(structured, resolve=True)
    assert isinstance(plain, dict)
    frame = pd.DataFrame({"a": [1, 0, -1]})
    for cfg in (dataclass_cfg, structured, plain):
        assert isinstance(build_schema(cfg), pa.DataFrameSchema)
        result = validate(frame, cfg)
        assert list(result.valid["a"]) == ([1] if cfg is dataclass_cfg else [1, 0])


# --- custom checks --------------------------------------------------------------------------


def test_registered_custom_check_is_used_and_named_in_failures() -> None:
    cfg = schema({"n": {"dtype": "int", "checks": [{"name": "tests_even"}]}})
    result = validate(pd.DataFrame({"n": [2, 3, 4, 5]}), cfg)
    assert failures_of(result) == {("n", "tests_even", 1), ("n", "tests_even", 3)}
    assert result.quarantined["_reasons"].tolist() == ["n: tests_even got 3", "n: tests_even got 5"]


def test_unknown_check_name_fails_naming_known_checks() -> None:
    with pytest.raises(MlconfError) as info:
        build_schema(schema({"n": {"checks": [{"name": "postive"}]}}))
    message = str(info.value)
    assert "postive" in message and "schema.columns.n.checks" in message
    for known in ("positive", "not_blank", "max_missing_share", "monotonic_increasing"):
        assert known in message


def test_wrong_check_parameter_is_a_config_error() -> None:
    with pytest.raises(MlconfError, match="fraction"):
        build_schema(
            schema({"n": {"checks": [{"name": "max_missing_share", "params": {"fraction": 1}}]}})
        )


def test_builtin_row_checks() -> None:
    frame = pd.DataFrame(
        {"qty": [1, 0, 5, 7], "name": ["a", " ", "b", ""], "t": [1, 2, 1, 3]},
    )
    cfg = schema(
        {
            "qty": {"dtype": "int", "checks": [{"name": "positive"}]},
            "name": {"dtype": "str", "checks": [{"name": "not_blank"}]},
            "t": {"dtype": "int", "checks": [{"name": "monotonic_increasing"}]},
        }
    )
    result = validate(frame, cfg)
    assert failures_of(result) == {
        ("qty", "positive", 1),
        ("name", "not_blank", 1),
        ("name", "not_blank", 3),
        ("t", "monotonic_increasing", 2),
    }
    assert list(result.valid.index) == [0]


def test_column_level_check_is_fatal_and_named() -> None:
    frame = pd.DataFrame({"a": [1.0, None, None, 4.0]})
    check = {"name": "max_missing_share", "params": {"share": 0.25}}
    message = error_of(frame, schema({"a": {"dtype": "float", "checks": [check]}}))
    assert "max_missing_share(share=0.25)" in message
    ok = {"name": "max_missing_share", "params": {"share": 0.5}}
    assert len(validate(frame, schema({"a": {"dtype": "float", "checks": [ok]}})).valid) == 4


def test_importing_builtin_checks_does_not_import_pandas() -> None:
    code = "import sys, mlconf.components.checks; assert 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


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


# --- inference ------------------------------------------------------------------------------


def test_infer_schema_round_trips_on_cars() -> None:
    frame = pd.read_csv(CARS)
    inferred = infer_schema(frame)
    columns = inferred["columns"]
    assert columns["Origin"] == {
        "dtype": "str",
        "nullable": False,
        "allowed": ["Europe", "Japan", "USA"],
    }
    assert columns["Horsepower"]["dtype"] == "float" and columns["Horsepower"]["nullable"]
    assert columns["Year"]["dtype"] == "int"
    assert isinstance(columns["Year"]["min"], int) and columns["Year"]["min"] == 1970
    assert "allowed" not in columns["Name"]

    text = schema_yaml(inferred, source="mlconf/datasets/cars.csv")
    assert text.startswith("#") and "mlconf/datasets/cars.csv" in text.splitlines()[0]
    assert "review" in text.lower()
    loaded = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    assert isinstance(loaded, dict) and loaded == inferred
    result = validate(frame, loaded, source="cars.csv")
    assert result.failures.empty and len(result.valid) == len(frame)


def test_infer_schema_marks_id_like_columns_unique() -> None:
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(30)],
            "n": range(30),
            "x": np.linspace(0, 1, 30),
            "few": ["a"] * 29 + ["b"],
        }
    )
    columns = infer_schema(frame)["columns"]
    assert columns["id"]["unique"] is True and columns["n"]["unique"] is True
    assert "unique" not in columns["x"] and "unique" not in columns["few"]
    assert infer_schema(frame.head(10))["columns"]["id"].get("unique") is None
    assert infer_schema(frame, max_allowed=1)["columns"]["few"].get("allowed") is None


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
