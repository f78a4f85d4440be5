"""Transforms: the registered factories, their contract, and properties over random frames.

Each custom transformer family has its own test_transformers_<family>.py beside this file.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from transformer_frames import mixed_frame

from mlconf.components import transforms
from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError

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


# --- built by the factories -----------------------------------------------------------


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
