"""The expressions transformer and the arithmetic it accepts (and refuses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlconf.components.transformers.expressions import Expressions
from mlconf.core.errors import MlconfError

FAST = settings(max_examples=30, deadline=None)


def expression_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1.0, 4.0, 9.0, 0.0],
            "b": [2, 0, 3, 0],
            "c": [0.5, -1.0, 2.0, 3.0],
            "my col": [1.0, 2.0, 3.0, 4.0],
            "text": ["p", "q", "r", "s"],
        },
        index=[3, 2, 1, 0],
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a / b", [0.5, np.nan, 3.0, np.nan]),  # x/0 and 0/0 become missing
        ("log(a) + b**2", [4.0, np.log(4.0), np.log(9.0) + 9.0, np.nan]),
        ("(a - b) / (c + 1)", [-1.0 / 1.5, np.nan, 2.0, 0.0]),
        ("-a // 2 + a % 2", [0.0, -2.0, -4.0, 0.0]),
        ("sqrt(a) * abs(c)", [0.5, 2.0, 6.0, 0.0]),
        ("clip(a, 1, 5) + minimum(b, c) - maximum(b, c)", [-0.5, 3.0, 4.0, -2.0]),
        ("exp(0) + log1p(0) + 2.5", [3.5] * 4),
        ('col("my col") * 2 + `my col`', [3.0, 6.0, 9.0, 12.0]),
    ],
)
def test_expressions_compute(expression: str, expected: list[float]) -> None:
    frame = expression_frame()
    out = Expressions(expressions={"new": expression}).fit(frame).transform(frame)
    np.testing.assert_allclose(out["new"].to_numpy(), expected)
    assert list(out.index) == [3, 2, 1, 0]


def test_expressions_pass_columns_through_and_chain() -> None:
    frame = expression_frame()
    enc = Expressions(expressions={"ratio": "a / c", "twice": "ratio * 2", "a": "a + 1"})
    out = enc.fit(frame).transform(frame)
    assert list(out.columns) == [*frame.columns, "ratio", "twice"]
    assert list(enc.get_feature_names_out()) == list(out.columns)
    assert out["twice"].tolist() == [4.0, -8.0, 9.0, 0.0]
    assert out["a"].tolist() == [2.0, 5.0, 10.0, 1.0]
    assert out["text"].tolist() == ["p", "q", "r", "s"]


@pytest.mark.parametrize(
    ("expression", "token"),
    [
        ("__import__('os')", "__import__"),
        ("a.b", "a.b"),
        ("(lambda: 1)()", "lambda"),
        ("a[0]", "a[0]"),
        ("a > b", "a > b"),
        ("a and b", "a and b"),
        ("a if b else c", "if/else"),
        ("open('f')", "open"),
        ("'text'", "'text'"),
        ("True + a", "True"),
        ("log(a, b)", "log takes 1"),
        ("clip(x=a)", "positional"),
        ("col(a)", 'col("column name")'),
        ("a +* b", "syntax error"),
        ("(a + b", "syntax error"),
        ("a ^ b", "operator"),
        ("[a for a in b]", "ListComp"),
    ],
)
def test_expressions_reject_everything_but_arithmetic(expression: str, token: str) -> None:
    with pytest.raises(MlconfError) as err:
        Expressions(expressions={"bad": expression}).fit(expression_frame())
    message = str(err.value)
    assert token in message
    assert repr(expression) in message
    assert "Fix:" in message


def test_expressions_unknown_column_names_the_closest() -> None:
    with pytest.raises(MlconfError, match=r"unknown column 'my_col'.*Did you mean 'my col'"):
        Expressions(expressions={"x": "my_col + 1"}).fit(expression_frame())


def test_expressions_reject_text_columns() -> None:
    with pytest.raises(MlconfError, match="'text' is not numeric"):
        Expressions(expressions={"x": "text + 1"}).fit(expression_frame())


def test_expressions_never_overflow_the_interpreter() -> None:
    frame = expression_frame()
    out = Expressions(expressions={"huge": "9 ** 9 ** 9 ** 9"}).fit(frame).transform(frame)
    assert out["huge"].isna().all()


@FAST
@given(
    st.lists(
        st.tuples(*[st.floats(-1e3, 1e3) | st.just(np.nan)] * 3),
        min_size=1,
        max_size=20,
    )
)
def test_expressions_match_numpy(rows: list[tuple[float, float, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["a", "b", "c"])
    a, b, c = (frame[k].to_numpy() for k in "abc")
    out = Expressions(expressions={"e": "(a - b) / (c + 1) + abs(a) ** 0.5"}).fit_transform(frame)
    with np.errstate(all="ignore"):
        expected = (a - b) / (c + 1) + np.abs(a) ** 0.5
    expected[np.isinf(expected)] = np.nan
    np.testing.assert_allclose(out["e"].to_numpy(), expected)
