"""Permutation importance's shuffled inputs: the transformed rows permuted where that is
exact, the transformers run where it is not; either way the values the model would see."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_interpret import cars, fitted

from mlconf.ml.interpret.contributions import split_model
from mlconf.ml.interpret.shuffles import blocks_differ, feature_groups, shuffled_inputs


def brute_force(transform: Any, frame: pd.DataFrame, shuffles: list[np.ndarray]) -> Any:
    """Every (column, shuffle) copy sent through the transformers, column by column."""
    copies = []
    for column in frame.columns:
        for shuffle in shuffles:
            copy = frame.copy()
            copy[column] = frame[column].iloc[shuffle].to_numpy()
            copies.append(copy)
    return transform(pd.concat(copies, ignore_index=True))


def counted(transform: Any) -> tuple[Any, list[int]]:
    """The transform, and the number of rows each call was given."""
    calls: list[int] = []

    def run(frame: pd.DataFrame) -> Any:
        calls.append(len(frame))
        return transform(frame)

    return run, calls


def fast_path(transform: Any, frame: pd.DataFrame, base: Any, shuffles: list[np.ndarray]) -> Any:
    """Every (column, shuffle) input as permutation importance builds them, stacked."""
    groups = feature_groups(transform, frame, base, max_rows=10_000)
    return shuffled_inputs(transform, frame, base, groups, list(frame.columns), shuffles)


def assert_same(fast: Any, slow: Any) -> None:
    if isinstance(slow, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    else:
        np.testing.assert_array_equal(fast, slow)


PRODUCTS = {"interactions": {"name": "polynomial", "params": {"interaction_only": True}}}


@pytest.mark.parametrize(
    ("feature_set", "extra", "model", "separable"),
    [
        ("basic", {}, "logistic", True),  # scaled numbers, imputed, one-hot levels
        ("native", {}, "xgboost", True),  # raw numbers and pandas categories
        ("basic", PRODUCTS, "logistic", False),  # products of two columns: transformers run
    ],
)
def test_shuffled_inputs_are_what_the_transformers_give(
    feature_set: str, extra: dict[str, Any], model: str, separable: bool
) -> None:
    x, origin = cars()
    x = x.head(120).reset_index(drop=True)
    y = (origin.head(120) == "USA").to_numpy(dtype=int)
    features, _ = split_model(fitted(feature_set, model, "classification", x, y, **extra))
    rng = np.random.default_rng(0)
    shuffles = [rng.permutation(len(x)) for _ in range(3)]
    transform, calls = counted(features.transform)
    base = features.transform(x)
    assert_same(
        fast_path(transform, x, base, shuffles), brute_force(features.transform, x, shuffles)
    )
    probe = len(x) * x.shape[1]  # every column rolled by one row, in one call
    if separable:
        assert calls == [probe]
    else:
        assert calls[0] == probe and sum(calls) > probe


def test_an_array_output_is_permuted_as_an_array() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [5, 6, 7, 8]})

    def as_array(rows: pd.DataFrame) -> np.ndarray:
        return np.column_stack([rows["a"].to_numpy() * 2, rows["b"].to_numpy() + 1])

    shuffles = [np.array([3, 2, 1, 0]), np.array([1, 0, 3, 2])]
    transform, calls = counted(as_array)
    assert_same(
        fast_path(transform, frame, as_array(frame), shuffles),
        brute_force(as_array, frame, shuffles),
    )
    assert calls == [8]


def test_a_feature_of_two_columns_sends_both_through_the_transformers() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 20.0, 30.0, 40.0]})

    def with_sum(rows: pd.DataFrame) -> pd.DataFrame:
        return rows.assign(total=rows["a"] + rows["b"]).reset_index(drop=True)

    shuffles = [np.array([3, 2, 1, 0]), np.array([1, 0, 3, 2]), np.array([2, 3, 0, 1])]
    transform, calls = counted(with_sum)
    assert_same(
        fast_path(transform, frame, with_sum(frame), shuffles),
        brute_force(with_sum, frame, shuffles),
    )
    assert calls == [8, 12, 12]  # the roll of each column, then each column's three shuffles


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            st.sampled_from(["x", "y", "z", None]),
            st.integers(-5, 5),
        ),
        min_size=3,
        max_size=30,
    ),
    repeats=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_any_table_gets_the_transformers_values(
    values: list[tuple[Any, Any, int]], repeats: int, seed: int
) -> None:
    frame = pd.DataFrame(values, columns=["number", "level", "count"])
    frame["number"] = frame["number"].astype("float64")

    def encode(rows: pd.DataFrame) -> pd.DataFrame:  # row by row, one column per feature
        out = pd.DataFrame(
            {
                "number": rows["number"].fillna(0.0) / 3.0,
                "missing": rows["number"].isna(),
                "level_x": (rows["level"] == "x").astype("float64"),
                "level": pd.Categorical(rows["level"], categories=["x", "y", "z"]),
                "count": rows["count"] * 7,
            }
        )
        return out.reset_index(drop=True)

    rng = np.random.default_rng(seed)
    shuffles = [rng.permutation(len(frame)) for _ in range(repeats)]
    assert_same(
        fast_path(encode, frame, encode(frame), shuffles), brute_force(encode, frame, shuffles)
    )


def test_blocks_differ_treats_two_missing_values_as_equal() -> None:
    before = pd.Series([1.0, np.nan, 3.0])
    after = pd.Series([1.0, np.nan, 3.0, 1.0, 2.0, 3.0])
    assert blocks_differ(before, after, 2).tolist() == [False, True]
    words = pd.Series(["a", None, "c"], dtype=object)
    assert blocks_differ(words, pd.concat([words, words.iloc[::-1]]), 2).tolist() == [False, True]
    big = np.array([2**53 + 1, 5], dtype=np.int64)  # exact: never through floats
    assert blocks_differ(big, np.array([2**53, 5], dtype=np.int64), 1).tolist() == [True]


def test_importance_in_many_small_batches_is_scikit_learns() -> None:
    """Batches of two columns share one array (the last batch is smaller): the numbers are
    still those of scikit-learn's permutation importance."""
    from sklearn.inspection import permutation_importance as sklearn_importance

    from mlconf.ml.interpret.importance import metric_scorer, permutation_importance

    x, origin = cars()
    x = x.head(150).iloc[:, :7].reset_index(drop=True)
    y = (origin.head(150) == "USA").to_numpy(dtype=int)
    pipeline = fitted("basic", "logistic", "classification", x, y)
    assert x.shape[1] == 7  # so the last batch has one column
    found = permutation_importance(
        pipeline, x, y, metric="roc_auc", task="classification", labels=[0, 1],
        n_repeats=2, seed=5, max_batch=len(x) * 2 * 2,
    )  # fmt: skip
    scorer, _ = metric_scorer("roc_auc", "classification", [0, 1])
    reference = sklearn_importance(
        pipeline, x, y, n_repeats=2, random_state=5,
        scoring=lambda est, xx, yy: scorer(yy, est.predict(xx), est.predict_proba(xx)),
    )  # fmt: skip
    expected = dict(zip(x.columns, reference.importances_mean, strict=True))
    for row in found:
        assert row["mean"] == pytest.approx(expected[row["feature"]], abs=1e-12)
