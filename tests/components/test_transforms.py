"""Transforms: the registered factories, the custom transformers and the expression parser."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from mlconf.components import transforms
from mlconf.components.transformers.categories import AsCategory, FrequencyEncoder
from mlconf.components.transformers.dates import DatetimeParts
from mlconf.components.transformers.expressions import Expressions
from mlconf.components.transformers.numeric import Bins, NanPolynomialFeatures, SignedLog1p
from mlconf.components.transformers.outliers import OutlierClipper, outlier_mask
from mlconf.errors import MlconfError
from mlconf.registry import REGISTRY

FAST = settings(max_examples=30, deadline=None)

TRANSFORM_NAMES = {
    "impute",
    "standard_scaler",
    "minmax_scaler",
    "robust_scaler",
    "log",
    "bins",
    "onehot",
    "ordinal",
    "frequency",
    "target",
    "category",
    "datetime_parts",
    "polynomial",
    "expressions",
    "outliers",
    "pii_guard",
}


def registered(kind: str, module: str) -> dict[str, Callable[..., Any]]:
    """Factories `module` registered, read without `load_builtins`, which would import every
    built-in module (some belong to other parts of the code base)."""
    return {
        name: c.factory
        for name, c in REGISTRY._items[kind].items()
        if c.factory.__module__ == module
    }


TRANSFORMS = registered("transform", transforms.__name__)


def build(name: str, **params: Any) -> Any:
    return TRANSFORMS[name](**params).set_output(transform="pandas")


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0, 100.0, 6.0, 7.0, 8.0],
            "count": [0, 1, 2, 3, 4, 5, 6, 7],
            "cat": pd.array(["x", "y", None, "x", "z", "y", "x", "x"], dtype="str"),
        },
        index=[70, 30, 50, 10, 90, 0, 20, 40],
    )


# --- registry contract ----------------------------------------------------------------


def test_registered_names() -> None:
    assert set(TRANSFORMS) == TRANSFORM_NAMES


@pytest.mark.parametrize("name", sorted(TRANSFORM_NAMES))
def test_factory_contract(name: str) -> None:
    factory = TRANSFORMS[name]
    doc = inspect.getdoc(factory) or ""
    assert doc and len(doc.splitlines()) == 1
    for param in inspect.signature(factory).parameters.values():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert param.default is not inspect.Parameter.empty
    first, second = factory(), factory()
    assert first is not second
    copy = clone(first)
    assert copy.get_params().keys() == first.get_params().keys()
    if hasattr(first, "_check_settings"):
        with pytest.raises(NotFittedError):
            first.transform(mixed_frame())


def test_importing_component_modules_stays_light() -> None:
    code = (
        "import sys, mlconf.components.transforms, mlconf.components.selectors\n"
        "heavy = [m for m in ('sklearn', 'pandas', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("impute", {"strategy": "medain"}, "Did you mean 'median'"),
        ("bins", {"encode": "one_hot"}, "Did you mean 'onehot'"),
        ("target", {"target_type": "binray"}, "Did you mean 'binary'"),
        ("outliers", {"method": "iqq"}, "Did you mean 'iqr'"),
        ("outliers", {"action": "drop"}, "clip, flag"),
        ("datetime_parts", {"parts": ["year", "weekday"]}, "dayofweek"),
        ("expressions", {"expressions": {"r": "a +"}}, "syntax error"),
    ],
)
def test_factories_reject_bad_settings_before_any_data(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(MlconfError, match=message):
        TRANSFORMS[name](**params)


# --- categories -----------------------------------------------------------------------


def test_as_category_learns_sorted_text_categories_and_blanks_unseen() -> None:
    enc = AsCategory().set_output(transform="pandas").fit(mixed_frame()[["cat", "count"]])
    assert enc.categories_[0] == ["x", "y", "z"]
    assert enc.categories_[1] == [str(i) for i in range(8)]
    out = enc.transform(
        pd.DataFrame({"cat": pd.Series(["y", "new", None]), "count": [3.0, np.nan, 99.0]})
    )
    assert isinstance(out["cat"].dtype, pd.CategoricalDtype)
    assert list(out["cat"].cat.categories) == ["x", "y", "z"]
    assert out["cat"].tolist()[0] == "y"
    assert out["cat"].isna().tolist() == [False, True, True]
    # an int column that gained a NaN at serving (3 -> 3.0) still matches
    assert out["count"].tolist()[0] == "3"
    assert out["count"].isna().tolist() == [False, True, True]


def test_frequency_encoder_uses_training_shares() -> None:
    out = (
        FrequencyEncoder()
        .fit(mixed_frame()[["cat"]])
        .transform(pd.DataFrame({"cat": ["x", "z", None, "unseen"]}))
    )
    assert out["cat"].tolist() == [0.5, 0.125, 0.125, 0.0]


@pytest.mark.parametrize("name", ["onehot", "ordinal", "target", "frequency", "category"])
def test_category_encoders_survive_unseen_values(name: str) -> None:
    train = mixed_frame()[["cat"]]
    params = {"cv": 2} if name == "target" else {}
    enc = build(name, **params).fit(train, np.arange(len(train)) % 2)
    out = enc.transform(pd.DataFrame({"cat": ["never", "seen", None]}, index=[5, 6, 7]))
    assert list(out.index) == [5, 6, 7]
    assert list(out.columns) == list(enc.get_feature_names_out())


def test_target_encoding_is_reproducible() -> None:
    frame = pd.DataFrame({"cat": list("abcab" * 6)})
    y = np.arange(len(frame)) % 2
    first = build("target", cv=3).fit_transform(frame, y)
    second = build("target", cv=3).fit_transform(frame, y)
    pd.testing.assert_frame_equal(first, second)


def test_bins_keep_missing_values_missing() -> None:
    frame = pd.DataFrame({"v": [*np.arange(19.0), np.nan], "empty": np.nan})
    ordinal = build("bins", n_bins=4).fit_transform(frame)
    codes = ordinal["v"].iloc[:19]
    assert codes.is_monotonic_increasing and set(codes) == {0.0, 1.0, 2.0, 3.0}
    assert ordinal["v"].isna().tolist()[-1]
    assert ordinal["empty"].isna().all()
    onehot = build("bins", n_bins=4, encode="onehot").fit(frame)
    out = onehot.transform(frame)
    assert list(out.columns) == ["v_bin0", "v_bin1", "v_bin2", "v_bin3"]
    assert out.iloc[:19].sum(axis=1).eq(1.0).all()
    assert out.iloc[19].isna().all()


def test_polynomial_terms_with_a_missing_input_are_missing() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [2.0, 5.0, np.nan]})
    out = build("polynomial").fit_transform(frame)
    assert list(out.columns) == ["a", "b", "a^2", "a b", "b^2"]
    np.testing.assert_allclose(
        out.to_numpy(),
        [
            [1.0, 2.0, 1.0, 2.0, 4.0],
            [np.nan, 5.0, np.nan, np.nan, 25.0],
            [3.0, np.nan, 9.0, np.nan, np.nan],
        ],
    )


# --- dates ----------------------------------------------------------------------------


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


# --- expressions ----------------------------------------------------------------------


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


# --- outliers and logs ----------------------------------------------------------------


def test_outlier_clipper_clips_to_training_fences() -> None:
    frame = mixed_frame()
    enc = OutlierClipper().fit(frame)
    out = enc.transform(frame)
    assert enc.columns_ == ["num", "count"]
    assert out.loc[90, "num"] == pytest.approx(enc.upper_[0])
    assert enc.upper_[0] < 100
    assert out["num"].isna().tolist()[2]
    assert out["cat"].equals(frame["cat"])
    assert list(out.index) == list(frame.index)


def test_outlier_clipper_flags() -> None:
    frame = mixed_frame()
    enc = OutlierClipper(action="flag", columns=["num"]).fit(frame)
    out = enc.transform(frame)
    assert list(out.columns) == [*frame.columns, "num_outlier"]
    assert list(enc.get_feature_names_out()) == list(out.columns)
    assert out["num_outlier"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    assert out["num"].equals(frame["num"])


def test_outlier_mask_for_quarantine() -> None:
    frame = mixed_frame()
    mask = outlier_mask(frame, method="zscore", threshold=2.0)
    assert list(mask.columns) == ["num", "count"]
    assert mask.index.equals(frame.index)
    assert mask.any(axis=1).tolist() == [False, False, False, False, True, False, False, False]


def test_outlier_columns_must_exist() -> None:
    with pytest.raises(MlconfError, match="Did you mean 'count'"):
        OutlierClipper(columns=["cuont"]).fit(mixed_frame())


def test_signed_log1p_round_trips_and_needs_numbers() -> None:
    frame = pd.DataFrame({"v": [-10.0, -1.0, 0.0, 3.0, np.nan]})
    enc = SignedLog1p().fit(frame)
    out = enc.transform(frame)
    np.testing.assert_allclose(out["v"], [-np.log1p(10), -np.log1p(1), 0, np.log1p(3), np.nan])
    np.testing.assert_allclose(enc.inverse_transform(out)["v"], frame["v"])
    with pytest.raises(MlconfError, match="numeric"):
        SignedLog1p().fit(mixed_frame())


# --- scikit-learn contract -----------------------------------------------------------

ALWAYS_A_FRAME = {
    "check_transformer_preserve_dtypes": "returns a DataFrame even without set_output"
}
CATEGORICAL_OUTPUT = {
    check: "outputs pandas categoricals, which the check subtracts as numbers"
    for check in [
        "check_pipeline_consistency",
        "check_estimators_pickle",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit_idempotent",
    ]
}
NUMBERS_ONLY = {"check_dtype_object": "rejects object columns rather than guessing numbers"}


def known_departures(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, AsCategory):
        return {**ALWAYS_A_FRAME, **CATEGORICAL_OUTPUT}
    if isinstance(estimator, NanPolynomialFeatures):
        return {}
    if isinstance(estimator, (SignedLog1p, Expressions, Bins)):
        return {**ALWAYS_A_FRAME, **NUMBERS_ONLY}
    return ALWAYS_A_FRAME


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        AsCategory(),
        FrequencyEncoder(),
        DatetimeParts(),
        Expressions(expressions={"twice": "x0 * 2"}),
        OutlierClipper(action="flag"),
        SignedLog1p(),
        Bins(encode="onehot"),
        NanPolynomialFeatures(),
    ],
    ids=lambda estimator: type(estimator).__name__,
)
def test_scikit_learn_contract(estimator: Any) -> None:
    # one test per class rather than parametrize_with_checks: ~300 tiny tests cost seconds
    check_estimator(estimator, expected_failed_checks=known_departures(estimator), on_skip=None)


# --- persistence ----------------------------------------------------------------------

FITTED_CASES: dict[str, tuple[Any, pd.DataFrame]] = {
    "AsCategory": (AsCategory(), mixed_frame()[["cat"]]),
    "FrequencyEncoder": (FrequencyEncoder(), mixed_frame()[["cat"]]),
    "DatetimeParts": (DatetimeParts(), pd.DataFrame({"d": ["2020-01-01", None, "2021-03-04"]})),
    "Expressions": (Expressions(expressions={"r": "num / (count + 1)"}), mixed_frame()),
    "OutlierClipper": (OutlierClipper(action="flag"), mixed_frame()),
    "SignedLog1p": (SignedLog1p(), mixed_frame()[["num"]]),
    "TargetEncoder": (transforms.target(cv=2), mixed_frame()[["cat"]]),
    "Bins": (Bins(encode="onehot", n_bins=3), mixed_frame()[["num", "count"]]),
    "NanPolynomialFeatures": (transforms.polynomial(), mixed_frame()[["num", "count"]]),
}


@pytest.mark.parametrize("case", sorted(FITTED_CASES))
def test_skops_round_trip(case: str) -> None:
    template, frame = FITTED_CASES[case]
    fitted = clone(template).set_output(transform="pandas")
    fitted.fit(frame, np.arange(len(frame)) % 2)
    data = sio.dumps(fitted)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    pd.testing.assert_frame_equal(loaded.transform(frame), fitted.transform(frame))


# --- properties over random frames ----------------------------------------------------

WORDS = ["a", "b", "c", "d"]
NUMERIC = ["num", "int"]

# name -> (params, columns: [] for the whole frame); every registered transform is covered
APPLICABLE: dict[str, tuple[dict[str, Any], list[str]]] = {
    "impute": ({"strategy": "most_frequent"}, ["num", "int", "cat"]),
    "standard_scaler": ({}, NUMERIC),
    "minmax_scaler": ({}, NUMERIC),
    "robust_scaler": ({}, NUMERIC),
    "log": ({}, NUMERIC),
    "bins": ({"n_bins": 3}, NUMERIC),
    "polynomial": ({}, NUMERIC),
    "onehot": ({"min_frequency": 2}, ["cat"]),
    "ordinal": ({}, ["cat"]),
    "frequency": ({}, ["cat", "int"]),
    "target": ({"cv": 2}, ["cat"]),
    "category": ({}, ["cat", "int"]),
    "datetime_parts": ({"parts": ["year", "dayofweek", "is_weekend"]}, ["when"]),
    "expressions": ({"expressions": {"r": "num / int", "l": "log1p(abs(r))"}}, []),
    "outliers": ({"action": "flag"}, []),
    "pii_guard": ({"drop_columns": ["when"]}, []),  # hashing: tests/test_privacy.py
}


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """Small mixed frames with missing values and a shuffled, non-default index."""
    n = draw(st.integers(6, 16))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    numbers = column(st.floats(-1e4, 1e4))
    numbers[0] = draw(st.floats(-1e4, 1e4))  # at least one value, or imputers drop the column
    dates = column(st.dates().map(lambda d: d.isoformat()))
    return pd.DataFrame(
        {
            "num": pd.Series(numbers, dtype="float64").to_numpy(),
            "int": draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n)),
            "cat": pd.Series(column(st.sampled_from(WORDS)), dtype="str").to_numpy(),
            "when": pd.Series(dates, dtype="str").to_numpy(),
        },
        index=draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n, unique=True)),
    )


def test_property_cases_cover_every_registered_transform() -> None:
    assert set(APPLICABLE) == set(TRANSFORMS)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@FAST
@given(frames())
def test_fit_transform_keeps_rows_and_index(frame: pd.DataFrame) -> None:
    y = np.arange(len(frame)) % 2
    for name, (params, columns) in APPLICABLE.items():
        data = frame[columns] if columns else frame
        step = build(name, **params)
        fitted = step.fit_transform(data, y)
        again = step.transform(data)
        for out in (fitted, again):
            assert isinstance(out, pd.DataFrame), name
            assert out.index.equals(frame.index), name
            assert list(out.columns) == list(step.get_feature_names_out()), name


@pytest.mark.filterwarnings("ignore::UserWarning")
@FAST
@given(frames(), st.lists(st.sampled_from(["a", "zz", "new", ""]), min_size=1, max_size=8))
def test_unseen_categories_never_raise(frame: pd.DataFrame, serving: list[str]) -> None:
    y = np.arange(len(frame)) % 2
    later = pd.DataFrame(
        {"cat": pd.array(serving, dtype="str")}, index=range(100, 100 + len(serving))
    )
    for name in ["category", "frequency", "onehot", "ordinal", "target"]:
        params = {"cv": 2} if name == "target" else {}
        step = build(name, **params).fit(frame[["cat"]], y)
        out = step.transform(later)
        assert out.index.equals(later.index), name
        if name == "category":
            seen = set(step.categories_[0])
            assert out["cat"].isna().tolist() == [v not in seen for v in serving]
        if name == "frequency":
            assert all(out["cat"][[v not in step.categories_[0] for v in serving]] == 0.0)
