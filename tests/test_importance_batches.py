"""Permutation importance in batches bounded by the encoded width gives scikit-learn's
numbers, whatever the batch size."""

from __future__ import annotations

import pytest
from test_interpret import cars, fitted

from mlconf.ml.interpret import importance
from mlconf.ml.interpret.importance import metric_scorer, permutation_importance


@pytest.mark.parametrize("max_values", [importance.MAX_VALUES, 1])
def test_importance_in_small_batches_is_scikit_learns(
    max_values: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny budget gives one column per batch; the default, every column in one."""
    from sklearn.inspection import permutation_importance as sklearn_importance

    monkeypatch.setattr(importance, "MAX_VALUES", max_values)
    x, origin = cars()
    x = x.head(150).reset_index(drop=True)
    y = (origin.head(150) == "USA").to_numpy(dtype=int)
    pipeline = fitted("basic", "logistic", "classification", x, y)
    found = permutation_importance(
        pipeline, x, y, metric="roc_auc", task="classification", labels=[0, 1],
        n_repeats=2, seed=5,
    )  # fmt: skip
    scorer, _ = metric_scorer("roc_auc", "classification", [0, 1])
    reference = sklearn_importance(
        pipeline, x, y, n_repeats=2, random_state=5,
        scoring=lambda est, xx, yy: scorer(yy, est.predict(xx), est.predict_proba(xx)),
    )  # fmt: skip
    expected = dict(zip(x.columns, reference.importances_mean, strict=True))
    for row in found:
        assert row["mean"] == pytest.approx(expected[row["feature"]], abs=1e-12)
