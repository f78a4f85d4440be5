"""The shared display formatting (mlconf.report.format) of the report, the model card and
the monitoring report."""

from __future__ import annotations

from mlconf.report.format import (
    MAX_TABLE_ROWS,
    bounds_text,
    fmt,
    interval,
    limit_text,
    pct,
    redact,
    rows_of,
    table,
)


def test_redact_hides_passwords_in_urls() -> None:
    assert (
        redact("mysql+pymysql://u:p@h/db and s3://bucket/k")
        == "mysql+pymysql://u:***@h/db and s3://bucket/k"
    )


def test_fmt_numbers_lists_and_missing_values() -> None:
    assert fmt(None) == "-" and fmt(float("nan")) == "-"
    assert fmt(True) == "yes" and fmt(False) == "no"
    assert fmt(1234567) == "1,234,567" and fmt(3.0) == "3"
    assert fmt(0.123456) == "0.1235" and fmt(0.123456, 2) == "0.12"
    assert fmt([1, 2.5, "a"]) == "1, 2.5, a"
    assert fmt({"a": 1, "b": 0.5}) == "a: 1, b: 0.5"
    assert fmt([]) == ""


def test_pct_interval_and_bounds() -> None:
    assert pct(0.25) == "25.0%" and pct(None) == "-" and pct(True) == "-"
    assert pct(float("nan")) == "-"
    assert interval({"low": 0.1, "high": 0.2}) == "0.1 .. 0.2"
    assert interval({"low": 0.1}) == "-" and interval(None) == "-"
    assert bounds_text({"min": 0.9}) == "at least 0.9"
    assert bounds_text({"min": 0.1, "max": 0.5}) == "at least 0.1 and at most 0.5"
    assert bounds_text({}) == "no bound"
    assert limit_text(0.1, "maximum") == "at most 0.1"
    assert limit_text(0.8, "minimum") == "at least 0.8"
    assert limit_text(None, "maximum") == "none set"
    assert limit_text(True, "other") == "yes"


def test_table_columns_in_order_of_first_appearance_and_rows_capped() -> None:
    records = [{"a": 1, "metrics": {"m": 0.5}}, {"b": None, "a": 2}]
    assert table(records) == {
        "columns": ["a", "m", "b"],
        "rows": [["1", "0.5", "-"], ["2", "-", "-"]],
        "more": 0,
    }
    kept = table(records, flatten=False)
    assert kept["columns"] == ["a", "metrics", "b"]
    assert kept["rows"][0] == ["1", "m: 0.5", "-"]
    assert table(records, ["b"])["rows"] == [["-"], ["-"]]
    many = table([{"i": i} for i in range(MAX_TABLE_ROWS + 5)])
    assert len(many["rows"]) == MAX_TABLE_ROWS and many["more"] == 5
    assert rows_of([1, 2, 3], 2) == ([1, 2], 1) and rows_of(None) == ([], 0)
