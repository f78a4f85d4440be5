"""Schema validation rules: dtypes, ranges, sets, regexes, uniqueness, custom checks."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from omegaconf import DictConfig, OmegaConf
from validation_cases import error_of, failures_of, schema

from mlconf.config import ColumnSchema, NamedSpec, SchemaConfig
from mlconf.core.errors import MlconfError
from mlconf.ml.validation import (
    build_schema,
    validate,
)

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
    with caplog.at_level("WARNING", logger="mlconf.ml.validation"):
        result = validate(pd.DataFrame({"make": ["ford", crafted, "volvo", "Ford"]}), cfg)
    assert sorted(result.quarantined["_row"]) == [1, 3]
    assert ("make", f"regex({REDOS!r})", 1) in failures_of(result)
    assert "column 'make'" in caplog.text and REDOS in caplog.text
    assert "schema.columns.make.regex" in caplog.text


def test_regex_rules_agree_on_both_engines() -> None:
    from mlconf.core.regex_rules import engine_of, full_matches

    values = ["AB1", "AB12", "xAB1", "CD9", "", "AB1\n"]
    expected = [True, False, False, True, False, False]
    assert engine_of(r"[A-Z]{2}\d") == "re2"
    assert full_matches(r"[A-Z]{2}\d", values).matched == expected
    assert engine_of(r"(?=[A-Z])[A-Z]{2}\d") == "backtracking"
    assert full_matches(r"(?=[A-Z])[A-Z]{2}\d", values).matched == expected


def test_regex_gives_up_after_max_slow_values() -> None:
    from mlconf.core.regex_rules import full_matches

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
