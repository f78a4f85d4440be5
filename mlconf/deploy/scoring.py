"""Predictions and probabilities for a frame, the pipeline's transforms run once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.store.artifacts import TrainedModel

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def score(model: TrainedModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and class probabilities, equal to `model.predict` and `model.predict_proba`,
    but the pipeline's transforms run once and, where the model's rule is known (a decision
    threshold, an argmax), the labels come from the same probabilities."""
    import numpy as np
    from sklearn.pipeline import Pipeline

    pipe = model.pipeline
    x = frame[model.input_columns]
    if isinstance(pipe, Pipeline) and len(pipe.steps) > 1:
        x, final = pipe[:-1].transform(x), pipe.steps[-1][1]
    else:
        final = pipe
    if model.task != "classification":
        return np.asarray(final.predict(x), dtype=float), None
    proba = None
    if hasattr(final, "predict_proba"):
        try:
            proba = final.predict_proba(x)
        except AttributeError:
            proba = None
    codes = _codes_from_proba(final, proba) if proba is not None else None
    if codes is None:
        codes = final.predict(x)
    return np.asarray(model.classes, dtype=object)[np.asarray(codes, dtype=int)], proba


def _codes_from_proba(final: Any, proba: np.ndarray) -> np.ndarray | None:
    """The labels `final.predict` would give, from its probabilities; None where unknown."""
    import numpy as np
    from sklearn.model_selection import FixedThresholdClassifier

    if isinstance(final, FixedThresholdClassifier):
        threshold = 0.5 if final.threshold == "auto" else final.threshold
        if final.response_method not in ("predict_proba", "auto") or proba.shape[1] != 2:
            return None
        if not isinstance(threshold, int | float):
            return None
        classes = np.asarray(final.classes_)
        pos_label = classes[1] if final.pos_label is None else final.pos_label
        pos = int(np.flatnonzero(classes == pos_label)[0])
        neg = int(np.flatnonzero(classes != pos_label)[0])
        return classes[np.where(proba[:, pos] >= threshold, pos, neg)]
    kind = f"{type(final).__module__}.{type(final).__name__}"
    if kind == "xgboost.sklearn.XGBClassifier" and proba.shape[1] == 2:
        return (proba[:, 1] > 0.5).astype(int)  # exactly XGBClassifier.predict's rule
    if kind in (
        "xgboost.sklearn.XGBClassifier",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
    ):
        return np.asarray(final.classes_)[np.argmax(proba, axis=1)]
    return None
