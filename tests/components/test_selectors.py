"""Selectors: task-aware factories, k clipping, reproducibility and persistence."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from mlconf.components import selectors
from mlconf.components.transformers.selection import KBestSelector
from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError

# the constant column in `data` is there on purpose; f_test says so loudly
pytestmark = pytest.mark.filterwarnings(
    "ignore:Features .* are constant", "ignore:invalid value encountered"
)
FAST = settings(max_examples=30, deadline=None)
TASKS = ("classification", "regression")
SELECTORS = {
    name: c.factory
    for name, c in REGISTRY._items["selector"].items()  # see registered() in test_transforms
    if c.factory.__module__ == selectors.__name__
}


def build(name: str, task: str, **params: Any) -> Any:
    return SELECTORS[name](task=task, **params).set_output(transform="pandas")


def data(task: str, n: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    """Two informative columns, three noise columns, one constant; a shuffled index."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=["s1", "s2", "n1", "n2", "n3"])
    frame["const"] = 1.0
    frame.index = rng.permutation(n) + 1000
    signal = frame["s1"] + frame["s2"]
    y = (
        (signal > 0).map({True: "yes", False: "no"}).to_numpy()
        if task == "classification"
        else signal.to_numpy()
    )
    return frame, y


def test_registered_names_and_contract() -> None:
    assert set(SELECTORS) == {"variance", "k_best", "model_based"}
    for factory in SELECTORS.values():
        params = inspect.signature(factory).parameters
        assert params["task"].default is inspect.Parameter.empty
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
        assert len((inspect.getdoc(factory) or "").splitlines()) == 1


@pytest.mark.parametrize("name", ["variance", "k_best", "model_based"])
def test_task_is_checked(name: str) -> None:
    with pytest.raises(MlconfError, match="Did you mean 'regression'"):
        SELECTORS[name](task="regresion")


def test_unknown_score_is_a_config_error() -> None:
    with pytest.raises(MlconfError, match="mutual_info, f_test"):
        SELECTORS["k_best"](task="regression", score="chi2")


def test_variance_drops_constant_columns() -> None:
    frame, y = data("regression")
    out = build("variance", "regression").fit_transform(frame, y)
    assert list(out.columns) == ["s1", "s2", "n1", "n2", "n3"]
    assert out.index.equals(frame.index)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("score", ["mutual_info", "f_test"])
def test_k_best_finds_the_signal_for_each_task(task: str, score: str) -> None:
    frame, y = data(task)
    step = build("k_best", task, k=2, score=score)
    out = step.fit_transform(frame, y)
    assert sorted(out.columns) == ["s1", "s2"]
    assert out.index.equals(frame.index)


def test_k_best_keeps_everything_quietly_when_k_is_too_big() -> None:
    frame, y = data("classification")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = build("k_best", "classification", k=50).fit_transform(frame, y)
    assert list(out.columns) == list(frame.columns)


@pytest.mark.parametrize("name", ["variance", "k_best", "model_based"])
def test_selectors_take_missing_values(name: str) -> None:
    frame, y = data("classification")
    frame.iloc[::4, 0] = np.nan
    out = build(name, "classification").fit_transform(frame, y)
    assert out.index.equals(frame.index)
    if "s1" in out:
        assert out["s1"].isna().sum() == len(frame) // 4


def test_k_best_meets_the_scikit_learn_contract() -> None:
    check_estimator(KBestSelector(k=2), on_skip=None)


def test_mutual_info_scores_repeat() -> None:
    frame, y = data("regression")
    first = build("k_best", "regression").fit(frame, y).scores_
    second = build("k_best", "regression").fit(frame, y).scores_
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("task", TASKS)
def test_model_based_keeps_the_important_half(task: str) -> None:
    frame, y = data(task)
    step = build("model_based", task, random_state=1)
    out = step.fit_transform(frame, y)
    assert {"s1", "s2"} <= set(out.columns)
    assert out.shape[1] == 3  # median threshold: importance >= median of six
    assert out.index.equals(frame.index)


@pytest.mark.parametrize(
    ("name", "params"),
    [("k_best", {"k": 2}), ("k_best", {"score": "f_test"}), ("variance", {})],
)
def test_skops_round_trip(name: str, params: dict[str, Any]) -> None:
    frame, y = data("classification")
    fitted = clone(build(name, "classification", **params)).fit(frame, y)
    blob = sio.dumps(fitted)
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    pd.testing.assert_frame_equal(loaded.transform(frame), fitted.transform(frame))
    if name == "k_best":
        assert isinstance(loaded, KBestSelector)


@FAST
@given(
    st.integers(4, 16),
    st.integers(1, 4),
    st.integers(1, 10),
    st.sampled_from(TASKS),
    st.sampled_from(["mutual_info", "f_test"]),
)
def test_k_best_any_k_keeps_rows(n: int, width: int, k: int, task: str, score: str) -> None:
    rng = np.random.default_rng(n * 7 + width)
    frame = pd.DataFrame(rng.normal(size=(n, width)), columns=[f"c{i}" for i in range(width)])
    frame.index = rng.permutation(n)
    y = np.arange(n) % 2 if task == "classification" else rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # f_test on constant columns
        out = build("k_best", task, k=k, score=score).fit_transform(frame, y)
    assert out.shape == (n, min(k, width))
    assert out.index.equals(frame.index)
