"""The columns `mlconf predict` adds to its output and its quarantine file, in order."""

from __future__ import annotations

ROW = "row"
PREDICTION = "prediction"
VERSION = "model_version"
SCORED_AT = "scored_at"
REASON = "reason"
PROBA_PREFIX = "proba_"


def proba_columns(classes: list[str]) -> list[str]:
    return [f"{PROBA_PREFIX}{c}" for c in classes]


def output_columns(kept: list[str], proba_names: list[str], task: str) -> list[str]:
    """The row number first (it joins the output back to the input), then the kept input
    columns, the prediction, a probability per class for a classifier, and the stamps."""
    probas = proba_names if task == "classification" else []
    return [ROW, *kept, PREDICTION, *probas, VERSION, SCORED_AT]


def added_columns(proba_names: list[str]) -> list[str]:
    """Every name the output may add: a kept input column must not have one of them."""
    return [ROW, PREDICTION, *proba_names, VERSION, SCORED_AT]
