"""A label metric at each candidate threshold: the confusion-count kernels agree with the
metric functions and with sklearn, and a user's metric is called at fewer candidates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from mlconf.components import metrics as builtin
from mlconf.components.metrics.fast import KERNELS
from mlconf.core import component_registry as registry
from mlconf.ml.evaluation.thresholds import MAX_SLOW_CANDIDATES, confusion_counts, score_thresholds

COUNTED = sorted(name for name, fast in KERNELS.items() if fast.of_confusion is not None)
SKLEARN = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1": lambda y, p: skm.f1_score(y, p, zero_division=0.0),
    "precision": lambda y, p: skm.precision_score(y, p, zero_division=0.0),
    "recall": lambda y, p: skm.recall_score(y, p, zero_division=0.0),
    "mcc": skm.matthews_corrcoef,
}


def test_every_label_metric_has_a_count_kernel() -> None:
    assert sorted(SKLEARN) == COUNTED


@pytest.mark.parametrize("metric", COUNTED)
def test_count_formulas_agree_with_the_metric_functions(metric: str) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    scores = np.round(rng.random(60), 2)
    thresholds = np.array([0.0, 0.2, 0.5, 0.77, 0.99, 1.5])
    function = getattr(builtin, metric)
    scored, from_counts = score_thresholds(registry.get("metric", metric), y, scores, thresholds)
    assert scored is thresholds
    for t, value in zip(thresholds, from_counts, strict=True):
        pred = (scores >= t).astype(int)
        assert value == pytest.approx(
            function(y, pred, None, labels=[0, 1], positive_class=1), abs=1e-12
        ), t
        assert value == pytest.approx(SKLEARN[metric](y, pred), abs=1e-12), t


def test_confusion_counts_by_hand() -> None:
    y, scores = np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.3, 0.6, 0.4, 0.9])
    tp, fp, fn, tn = confusion_counts(y, scores, np.array([0.0, 0.35, 0.75, 1.0]))
    assert (tp.tolist(), fp.tolist(), fn.tolist(), tn.tolist()) == (
        [2, 2, 1, 0], [3, 1, 0, 0], [0, 0, 1, 2], [0, 2, 3, 3]
    )  # fmt: skip


def test_a_metric_without_a_kernel_is_called_at_fewer_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = registry.Registry()
    monkeypatch.setattr(registry, "REGISTRY", fresh)
    calls: list[int] = []

    def flagged(y_true: Any, y_pred: Any, y_proba: Any, **_: Any) -> float:
        calls.append(1)
        return float(y_pred.sum())

    fresh.add("metric", "flagged", flagged, greater_is_better=True)
    rng = np.random.default_rng(0)
    y, scores = rng.integers(0, 2, 500), rng.random(500)
    thresholds = np.linspace(0, 1, 1000)
    scored, values = score_thresholds(registry.get("metric", "flagged"), y, scores, thresholds)
    assert len(scored) == len(values) == len(calls) <= MAX_SLOW_CANDIDATES
    assert values[0] == 500 and values[-1] == (scores >= 1).sum()
