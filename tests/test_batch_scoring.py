"""Scoring a frame: the labels and probabilities equal the model's predict and predict_proba."""

from __future__ import annotations

import numpy as np

from mlconf.deploy.scoring import score
from mlconf.store.artifacts import TrainedModel


def test_predictions_with_a_decision_threshold_match_predict() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlconf.ml.framing import with_threshold

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    for threshold in (0.2, 0.9):
        model = TrainedModel(
            with_threshold(pipe, threshold), "classification", "t", list(x.columns), ["b", "m"]
        )
        labels, proba = score(model, x)
        assert labels.tolist() == model.predict(x).tolist()
        np.testing.assert_array_equal(proba, model.predict_proba(x))
