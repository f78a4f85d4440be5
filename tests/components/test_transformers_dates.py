"""DatetimeParts: calendar parts from dates written in several ways."""

from __future__ import annotations

import pandas as pd
import pytest

from mlconf.components.transformers.dates import DatetimeParts
from mlconf.core.errors import MlconfError


def test_datetime_parts_values_and_names() -> None:
    frame = pd.DataFrame(
        {"when": ["2020-01-05", "2021-06-11 10:30", None, "not a date", "05/02/2021"]}
    )
    enc = DatetimeParts(parts=("year", "hour", "is_weekend")).fit(frame)
    out = enc.transform(frame)
    assert list(out.columns) == ["when_year", "when_hour", "when_is_weekend"]
    assert list(enc.get_feature_names_out()) == list(out.columns)
    assert out["when_year"].tolist()[:2] == [2020.0, 2021.0]
    assert out["when_hour"].tolist()[1] == 10.0
    assert out["when_is_weekend"].tolist()[:2] == [1.0, 0.0]  # a Sunday, a Friday
    assert out.iloc[2:4].isna().all().all()
    assert out["when_year"].tolist()[4] == 2021.0  # a second format is not dropped


def test_datetime_parts_rejects_a_column_without_dates() -> None:
    with pytest.raises(MlconfError, match="'city' has no value that reads as a date"):
        DatetimeParts().fit(pd.DataFrame({"city": ["Paris", None, "Oslo"]}))


def test_datetime_parts_unknown_part_is_a_value_error_naming_the_parts() -> None:
    with pytest.raises(ValueError, match="dayofyear"):
        DatetimeParts(parts=("year", "week")).fit(pd.DataFrame({"d": ["2020-01-01"]}))
