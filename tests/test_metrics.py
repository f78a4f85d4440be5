"""Built-in metrics: each agrees with sklearn, declares its metadata, and is nan when undefined."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import CLASSIFICATION, REGRESSION
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from mlconf.components import metrics
from mlconf.core import component_registry as registry

PROBA = {"roc_auc", "pr_auc", "log_loss", "brier"}
LOWER_IS_BETTER = {"log_loss", "brier", "rmse", "mae", "mape", "median_ae"}


def classification_data(labels: list[Any], n: int = 400, seed: int = 0) -> dict[str, Any]:
    """Labels, a noisy model's probabilities (with ties) and its predictions."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(labels), n)
    logits = rng.normal(size=(n, len(labels))) + 1.5 * np.eye(len(labels))[truth]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 2)  # ties, as trees and calibrated models produce
    proba /= proba.sum(axis=1, keepdims=True)
    classes = np.array(labels)
    if classes.dtype.kind == "U":
        classes = classes.astype(object)  # as pandas hands string columns over
    return {
        "y_true": classes[truth],
        "y_pred": classes[proba.argmax(axis=1)],
        "y_proba": proba,
        "labels": labels,
    }


def regression_data(n: int = 400, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return {"y_true": y, "y_pred": y + rng.normal(0, 1.5, n), "y_proba": None, "labels": None}


def call(name: str, data: dict[str, Any], positive_class: Any = None) -> float:
    fn = registry.get("metric", name).factory
    return float(
        fn(
            data["y_true"],
            data["y_pred"],
            data["y_proba"],
            labels=data["labels"],
            positive_class=positive_class,
        )
    )


def sklearn_binary(name: str, d: dict[str, Any], pos: Any) -> float:
    """The reference value of a binary metric, scoring the class `pos`."""
    t, p, proba = d["y_true"], d["y_pred"], d["y_proba"]
    score = proba[:, d["labels"].index(pos)]
    ref: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(t, p),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(t, p),
        "f1": lambda: skm.f1_score(t, p, pos_label=pos),
        "precision": lambda: skm.precision_score(t, p, pos_label=pos),
        "recall": lambda: skm.recall_score(t, p, pos_label=pos),
        "roc_auc": lambda: skm.roc_auc_score(t == pos, score),
        "pr_auc": lambda: skm.average_precision_score(t == pos, score),
        "log_loss": lambda: skm.log_loss(t, proba, labels=d["labels"]),
        "brier": lambda: skm.brier_score_loss(t == pos, score),
        "mcc": lambda: skm.matthews_corrcoef(t, p),
    }
    return float(ref[name]())


def sklearn_multiclass(name: str, d: dict[str, Any]) -> float:
    t, p, proba, labels = d["y_true"], d["y_pred"], d["y_proba"], d["labels"]
    ref: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(t, p),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(t, p),
        "f1": lambda: skm.f1_score(t, p, average="macro"),
        "precision": lambda: skm.precision_score(t, p, average="macro"),
        "recall": lambda: skm.recall_score(t, p, average="macro"),
        "roc_auc": lambda: skm.roc_auc_score(t, proba, multi_class="ovr", labels=labels),
        "pr_auc": lambda: skm.average_precision_score(label_binarize(t, classes=labels), proba),
        "log_loss": lambda: skm.log_loss(t, proba, labels=labels),
        # documented: the multiclass Brier score divided by the number of classes
        "brier": lambda: (
            skm.brier_score_loss(t, proba, labels=labels, scale_by_half=False) / len(labels)
        ),
        "mcc": lambda: skm.matthews_corrcoef(t, p),
    }
    return float(ref[name]())


SKLEARN_REGRESSION: dict[str, Callable[[Any, Any], float]] = {
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
    "mape": skm.mean_absolute_percentage_error,
    "median_ae": skm.median_absolute_error,
}


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize(("labels", "pos"), [([0, 1], 1), (["no", "yes"], "no")])
def test_binary_metrics_match_sklearn(name: str, labels: list[Any], pos: Any) -> None:
    d = classification_data(labels)
    assert call(name, d, positive_class=pos) == pytest.approx(sklearn_binary(name, d, pos))


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_binary_positive_class_defaults_to_last_label(name: str) -> None:
    d = classification_data(["ham", "spam"], seed=1)
    assert call(name, d) == pytest.approx(call(name, d, positive_class="spam"))


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_multiclass_metrics_match_sklearn(name: str) -> None:
    d = classification_data(["setosa", "versicolor", "virginica"], seed=2)
    assert call(name, d) == pytest.approx(sklearn_multiclass(name, d))


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("labels", [["a", "b"], ["a", "b", "c"]])
def test_label_order_does_not_matter(name: str, labels: list[str]) -> None:
    """Columns of y_proba follow `labels`, whatever their order (sklearn assumes sorted)."""
    d = classification_data(labels, seed=4)
    flipped = {**d, "labels": labels[::-1], "y_proba": d["y_proba"][:, ::-1]}
    assert call(name, flipped, positive_class="a") == pytest.approx(
        call(name, d, positive_class="a")
    )


def test_binary_brier_is_the_multiclass_definition_with_two_classes() -> None:
    d = classification_data(["a", "b"], seed=3)
    multiclass = skm.brier_score_loss(
        d["y_true"], d["y_proba"], labels=d["labels"], scale_by_half=False
    )
    assert call("brier", d) == pytest.approx(multiclass / 2)


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_metrics_match_sklearn(name: str) -> None:
    d = regression_data()
    assert call(name, d) == pytest.approx(SKLEARN_REGRESSION[name](d["y_true"], d["y_pred"]))


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc"])
@pytest.mark.parametrize("labels", [["a", "b"], ["a", "b", "c"]])
def test_ranking_metrics_are_nan_when_a_class_is_missing(name: str, labels: list[str]) -> None:
    d = classification_data(labels)
    d["y_true"] = np.full(len(d["y_true"]), "a", dtype=object)
    assert math.isnan(call(name, d))


@pytest.mark.parametrize("name", sorted(PROBA))
def test_proba_metrics_are_nan_without_probabilities(name: str) -> None:
    d = {**classification_data(["a", "b"]), "y_proba": None}
    assert math.isnan(call(name, d))


def test_undefined_precision_scores_zero_without_warning() -> None:
    d = classification_data(["a", "b"])
    d["y_pred"] = np.full(len(d["y_pred"]), "a", dtype=object)  # never predicts "b"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert call("precision", d, positive_class="b") == 0.0


@pytest.mark.parametrize(("y_pred", "expected"), [([0.1, 0.1, 0.1], 1.0), ([0.1, 0.2, 0.1], 0.0)])
def test_r2_of_a_constant_target_follows_sklearns_convention(
    y_pred: list[float], expected: float
) -> None:
    """1 if predicted exactly, else 0; sklearn itself returns -1e33 here (rounding of the mean)."""
    y = np.array([0.1, 0.1, 0.1])
    assert call("r2", {**regression_data(), "y_true": y, "y_pred": np.array(y_pred)}) == expected


def test_r2_of_a_single_row_is_nan() -> None:
    assert math.isnan(call("r2", regression_data(n=1)))


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_metadata_and_summary(name: str) -> None:
    component = registry.get("metric", name)
    assert component.origin == "builtin"
    assert component.meta["greater_is_better"] is (name not in LOWER_IS_BETTER)
    assert component.meta["needs"] == ("proba" if name in PROBA else "label")
    expected = "classification" if name in CLASSIFICATION else "regression"
    assert component.meta["tasks"] == (expected,)
    assert component.summary and "\n" not in component.summary


def test_metric_functions_have_the_documented_signature() -> None:
    for name in CLASSIFICATION + REGRESSION:
        params = inspect.signature(getattr(metrics, name)).parameters
        assert list(params) == ["y_true", "y_pred", "y_proba", "labels", "positive_class"]
        assert params["labels"].kind is inspect.Parameter.KEYWORD_ONLY


def test_importing_the_module_stays_cheap() -> None:
    code = (
        "import sys, mlconf.components.metrics; "
        "print(sorted(m for m in ('sklearn', 'numpy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
