"""Metric sets with bootstrap intervals: fast paths agree with the metric functions, intervals
behave and cover the true value, errors are clear."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import pytest
from helpers import CLASSIFICATION, REGRESSION
from hypothesis import given, settings
from hypothesis import strategies as st

from mlconf.core import component_registry as registry
from mlconf.core.errors import MlconfError
from mlconf.ml.evaluation import MetricValue, mean_with_interval, score


def make_data(kind: str, n: int, seed: int = 0) -> dict[str, Any]:
    """Inputs of score(): a noisy model's outputs, probabilities rounded so scores tie."""
    rng = np.random.default_rng(seed)
    if kind == "regression":
        y = rng.normal(20, 4, n)  # far from 0, so mape is not heavy-tailed
        return {"y_true": y, "y_pred": y + rng.normal(0, 2, n), "y_proba": None,
                "labels": None, "positive_class": None, "task": "regression"}  # fmt: skip
    all_labels: dict[str, list[Any]] = {"binary": ["no", "yes"], "binary_int": [0, 1]}
    labels = all_labels.get(kind, ["setosa", "versicolor", "virginica"])
    truth = rng.integers(0, len(labels), n)
    logits = rng.normal(size=(n, len(labels))) + 1.2 * np.eye(len(labels))[truth]
    proba = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2)
    proba /= proba.sum(axis=1, keepdims=True)
    classes = np.array(labels, dtype=object if kind != "binary_int" else None)
    return {
        "y_true": classes[truth],
        "y_pred": classes[proba.argmax(axis=1)],
        "y_proba": proba,
        "labels": labels,
        "positive_class": labels[0] if kind == "binary" else None,  # not the default last
        "task": "classification",
    }


def names_for(data: dict[str, Any]) -> list[str]:
    return CLASSIFICATION if data["task"] == "classification" else REGRESSION


def reference(name: str, data: dict[str, Any]) -> float:
    """The registered metric function, checked against sklearn in test_metrics.py."""
    labels = data["labels"]
    positive = labels[-1] if data["positive_class"] is None and labels else data["positive_class"]
    fn = registry.get("metric", name).factory
    return float(
        fn(data["y_true"], data["y_pred"], data["y_proba"], labels=labels, positive_class=positive)
    )


@pytest.fixture
def metrics_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[registry.Registry]:
    """A registry with the built-in metrics, so metrics registered by a test do not leak."""
    fresh = registry.Registry()
    for name in registry.REGISTRY.names("metric"):
        builtin = registry.get("metric", name)
        fresh.add("metric", name, builtin.factory, **builtin.meta)
    monkeypatch.setattr(registry, "REGISTRY", fresh)
    yield fresh


def register_slow_copies(names: list[str]) -> None:
    """Register each built-in as 'slow_<name>': same function, so no fast path applies."""
    for name in names:
        builtin = registry.get("metric", name)

        def slow(*args: Any, _fn: Callable[..., float] = builtin.factory, **kw: Any) -> float:
            return _fn(*args, **kw)

        registry.register("metric", f"slow_{name}", **builtin.meta)(slow)


def register_user_metric(name: str, body: Callable[..., float]) -> None:
    """Register `body` (called with keyword arguments) as a user's label metric."""

    def metric(
        y_true: Any, y_pred: Any, y_proba: Any, *, labels: Any, positive_class: Any
    ) -> float:
        return body(
            y_true=y_true,
            y_pred=y_pred,
            y_proba=y_proba,
            labels=labels,
            positive_class=positive_class,
        )

    registry.register("metric", name, greater_is_better=True, needs="label")(metric)


KINDS = ["binary", "binary_int", "multiclass", "regression"]


@pytest.mark.parametrize("kind", KINDS)
def test_point_estimates_match_the_metric_functions(kind: str) -> None:
    data = make_data(kind, 500, seed=1)
    names = names_for(data)
    result = score(names, **data, bootstrap=0)
    for name in names:
        assert result[name].value == pytest.approx(reference(name, data), rel=1e-9), name
        assert result[name].low is None and result[name].high is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("max_rows", [1000, 12])
def test_fast_resamples_match_the_metric_functions(
    metrics_registry: registry.Registry, kind: str, max_rows: int
) -> None:
    """Same resamples, scored by the vectorised path and by the registered function.

    Small resamples (max_rows=12) hit the degenerate cases: missing classes, no predicted
    positives, one-class ranking (nan, left out of the interval).
    """
    data = make_data(kind, 60, seed=2)
    names = names_for(data)
    register_slow_copies(names)
    result = score(names + [f"slow_{n}" for n in names], **data, bootstrap=25, max_rows=max_rows)
    for name in names:
        fast, slow = result[name], result[f"slow_{name}"]
        assert fast.value == pytest.approx(slow.value, rel=1e-9), name
        assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), rel=1e-9), name


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_interval_contains_the_estimate_and_narrows_with_more_rows(kind: str) -> None:
    small = score(names_for(make_data(kind, 300)), **make_data(kind, 300), bootstrap=100)
    large = score(names_for(make_data(kind, 8000)), **make_data(kind, 8000), bootstrap=100)
    for name, mv in small.items():
        big = large[name]
        assert mv.low is not None and mv.high is not None and big.low is not None
        assert big.high is not None
        assert mv.low <= mv.value <= mv.high
        assert big.low <= big.value <= big.high
        assert big.high - big.low < 0.5 * (mv.high - mv.low), name  # ~ 1/sqrt(rows)


def test_results_are_determined_by_the_seed() -> None:
    data = make_data("binary", 400)
    first = score(CLASSIFICATION, **data, seed=7, bootstrap=50)
    assert score(CLASSIFICATION, **data, seed=7, bootstrap=50) == first
    assert score(CLASSIFICATION, **data, seed=8, bootstrap=50) != first


def test_large_sets_draw_max_rows_per_resample(metrics_registry: registry.Registry) -> None:
    sizes: list[int] = []

    def rows_seen(y_true: Any, **_: Any) -> float:
        sizes.append(len(y_true))
        return 0.0

    register_user_metric("rows_seen", rows_seen)
    score(["rows_seen"], **make_data("binary", 3000), bootstrap=5, max_rows=700)
    assert sizes == [3000] + [700] * 5


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_subsampled_interval_is_rescaled_to_the_full_width(kind: str) -> None:
    """An m-out-of-n interval is about as wide as the full bootstrap's."""
    data = make_data(kind, 40_000, seed=3)
    names = ["accuracy", "roc_auc", "log_loss"] if kind == "binary" else ["rmse", "r2", "mae"]
    full = score(names, **data, bootstrap=200, max_rows=40_000)
    sub = score(names, **data, bootstrap=200, max_rows=4_000)
    for name in names:
        assert sub[name].value == full[name].value
        ratio = _width(sub[name]) / _width(full[name])
        assert 0.7 < ratio < 1.4, (name, ratio)


def _width(mv: MetricValue) -> float:
    assert mv.low is not None and mv.high is not None
    return mv.high - mv.low


def test_proba_metric_without_probabilities_is_skipped() -> None:
    data = {**make_data("binary", 200), "y_proba": None}
    result = score(["roc_auc", "accuracy"], **data)
    assert math.isnan(result["roc_auc"].value)
    assert result["roc_auc"].low is None and result["roc_auc"].high is None
    assert result["accuracy"].low is not None


def test_labels_default_to_the_sorted_classes_seen() -> None:
    data = {**make_data("multiclass", 300), "labels": None, "y_proba": None}
    assert score(["f1"], **data, bootstrap=0) == score(
        ["f1"], **{**data, "labels": ["setosa", "versicolor", "virginica"]}, bootstrap=0
    )


def test_user_metric_gets_the_registered_signature(metrics_registry: registry.Registry) -> None:
    seen: dict[str, Any] = {}

    @registry.register("metric", "share_positive", greater_is_better=True, needs="label")
    def share_positive(
        y_true: Any, y_pred: Any, y_proba: Any, *, labels: Any, positive_class: Any
    ) -> float:
        """Share of rows predicted as the positive class."""
        seen.update(labels=labels, positive_class=positive_class, y_proba=y_proba)
        return float(np.mean(y_pred == positive_class))

    data = {**make_data("binary", 300), "positive_class": None}
    result = score(["share_positive"], **data, bootstrap=30)["share_positive"]
    assert seen["labels"] == ["no", "yes"] and seen["positive_class"] == "yes"
    assert seen["y_proba"].shape == (300, 2)
    assert result.value == pytest.approx(np.mean(data["y_pred"] == "yes"))
    assert result.low is not None and result.low <= result.value


def test_user_metric_undefined_on_some_resamples_is_left_out(
    metrics_registry: registry.Registry,
) -> None:
    def picky(y_true: Any, **_: Any) -> float:
        if y_true[0] == "no":
            raise ValueError("undefined on this sample")
        return 1.0

    register_user_metric("picky", picky)
    data = make_data("binary", 50)
    data["y_true"][0] = "yes"
    assert score(["picky"], **data, bootstrap=40)["picky"] == MetricValue(1.0, 1.0, 1.0)


def test_broken_user_metric_is_a_clear_error(metrics_registry: registry.Registry) -> None:
    def broken(**_: Any) -> float:
        raise KeyError("oops")

    register_user_metric("broken", broken)
    with pytest.raises(MlconfError, match=r"metric 'broken' \(module .*\) failed: KeyError"):
        score(["broken"], **make_data("binary", 50))


def test_unknown_metric_names_the_closest_match() -> None:
    with pytest.raises(MlconfError, match=r"unknown metric 'roc_aux'\. Did you mean 'roc_auc'\?"):
        score(["roc_aux"], **make_data("binary", 50))


def test_metric_of_another_task_is_refused_listing_those_that_apply() -> None:
    with pytest.raises(MlconfError) as err:
        score(["accuracy", "rmse"], **make_data("binary", 50))
    message = str(err.value)
    assert "metric 'rmse' does not apply to classification (it is for regression)" in message
    assert "accuracy" in message and "roc_auc" in message and "median_ae" not in message


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"positive_class": "maybe"}, "positive_class 'maybe' is not one of the classes"),
        ({"labels": ["no", "YES"]}, "y_true contains the label 'yes'"),
        ({"y_proba": np.full((50, 3), 1 / 3)}, r"y_proba has shape \(50, 3\), expected \(50, 2\)"),
        ({"task": "clasification"}, "Did you mean 'classification'"),
        ({"y_true": np.array([], dtype=object), "y_pred": np.array([], dtype=object)}, "no rows"),
    ],
)
def test_bad_inputs_are_clear_errors(change: dict[str, Any], match: str) -> None:
    with pytest.raises(MlconfError, match=match):
        score(["accuracy"], **{**make_data("binary", 50), **change})


@pytest.mark.parametrize(
    ("setting", "match"),
    [({"confidence": 1.5}, "confidence"), ({"bootstrap": -1}, "bootstrap"),
     ({"max_rows": 0}, "max_bootstrap_rows")],
)  # fmt: skip
def test_bad_settings_are_clear_errors(setting: dict[str, Any], match: str) -> None:
    with pytest.raises(MlconfError, match=match):
        score(["accuracy"], **make_data("binary", 50), **setting)


ROWS = st.lists(st.tuples(st.booleans(), st.booleans(), st.floats(0, 1)), min_size=1, max_size=40)
RANGES = {"mcc": (-1.0, 1.0), "log_loss": (0.0, math.inf)}  # the others lie in [0, 1]


@settings(max_examples=30, deadline=None)
@given(rows=ROWS, max_rows=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_interval_is_ordered_and_stays_in_the_metric_range(
    rows: list[tuple[bool, bool, float]], max_rows: int, seed: int
) -> None:
    """Whatever the rows, an interval is ordered and within its metric's range; it need not
    contain the estimate (a skewed or degenerate bootstrap: see the coverage tests)."""
    truth, pred, p = (np.array(col) for col in zip(*rows, strict=True))
    result = score(
        CLASSIFICATION,
        np.where(truth, "b", "a"),
        np.where(pred, "b", "a"),
        np.column_stack([1 - p, p]),
        labels=["a", "b"],
        positive_class=None,
        task="classification",
        bootstrap=20,
        max_rows=max_rows,
        seed=seed,
    )
    for name, mv in result.items():
        if mv.low is not None and mv.high is not None:  # None: undefined on every resample
            least, most = RANGES.get(name, (0.0, 1.0))
            assert least <= mv.low <= mv.high <= most, (name, mv)


# --- coverage: how often the 95% interval holds the true value, on known distributions ----------

REPEATS = 300  # samples per case; each is scored with 200 resamples
# A correct 95% interval covers in 95% of samples; the share of REPEATS covering is then
# binomial, so allow 3.5 standard errors each way: [0.906, 0.994] at 300 samples.
TOLERANCE = 3.5 * math.sqrt(0.95 * 0.05 / REPEATS)


def _accuracy_sample(rng: np.random.Generator, n: int, error: float) -> tuple[dict, float]:
    """A fixed classifier that is wrong on each row with probability `error`: accuracy 1-error."""
    truth = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < error, 1 - truth, truth)
    return {"y_true": truth, "y_pred": pred, "y_proba": None, "task": "classification"}, 1 - error


def _auc_sample(rng: np.random.Generator, n: int, shift: float) -> tuple[dict, float]:
    """Scores N(0, 1) for negatives and N(shift, 1) for positives: AUC = Phi(shift / sqrt 2)."""
    from scipy.stats import norm

    truth = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * truth)))
    data = {"y_true": truth, "y_pred": (p > 0.5).astype(int), "task": "classification",
            "y_proba": np.column_stack([1 - p, p])}  # fmt: skip
    return data, float(norm.cdf(shift / math.sqrt(2)))


def _rmse_sample(rng: np.random.Generator, n: int, sigma: float) -> tuple[dict, float]:
    """Residuals N(0, sigma): the true rmse is sigma."""
    y = rng.normal(10, 3, n)
    return {"y_true": y, "y_pred": y + rng.normal(0, sigma, n), "y_proba": None,
            "task": "regression"}, sigma  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "sample", "n", "max_rows"),
    [
        ("accuracy", partial(_accuracy_sample, error=0.2), 200, 100_000),
        ("accuracy", partial(_accuracy_sample, error=0.04), 200, 100_000),  # near its bound
        ("roc_auc", partial(_auc_sample, shift=1.0), 200, 100_000),
        ("rmse", partial(_rmse_sample, sigma=2.0), 400, 100_000),  # skewed: undercovers at 200
        ("accuracy", partial(_accuracy_sample, error=0.2), 1000, 200),  # m-out-of-n, rescaled
    ],
    ids=["accuracy", "accuracy-near-1", "roc_auc", "rmse", "accuracy-m-of-n"],
)
def test_interval_covers_the_true_value_95_percent_of_the_time(
    metric: str, sample: Callable[..., tuple[dict, float]], n: int, max_rows: int
) -> None:
    rng = np.random.default_rng(2024)
    covered = 0
    for repeat in range(REPEATS):
        data, truth = sample(rng, n)
        mv = score([metric], **data, labels=None, positive_class=None, bootstrap=200,
                   max_rows=max_rows, seed=repeat)[metric]  # fmt: skip
        assert mv.low is not None and mv.high is not None
        covered += mv.low <= truth <= mv.high
    assert abs(covered / REPEATS - 0.95) <= TOLERANCE, covered / REPEATS


def test_interval_of_a_mean_covers_the_true_mean_95_percent_of_the_time() -> None:
    """Per-row costs from a skewed distribution (exponential, mean 1)."""
    rng = np.random.default_rng(7)
    covered = 0
    for repeat in range(REPEATS):
        mv = mean_with_interval(rng.exponential(1.0, 200), seed=repeat)
        assert mv.low is not None and mv.high is not None
        covered += mv.low <= 1.0 <= mv.high
    assert abs(covered / REPEATS - 0.95) <= TOLERANCE, covered / REPEATS
