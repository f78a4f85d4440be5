"""Feature selectors: each factory returns a fresh, unfitted scikit-learn selector.

Every factory takes `task` ("classification" or "regression"), which the pipeline
builder passes, because scores and models differ by task. Selectors need numeric input
without missing values, so they belong after imputation and encoding. scikit-learn is
imported inside the factories so that listing components (`mlconf plugins`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.component_registry import register

if TYPE_CHECKING:
    from sklearn.feature_selection import SelectorMixin

TASKS = ("classification", "regression")
SCORES = ("mutual_info", "f_test")


def _task(task: str, selector: str) -> str:
    from mlconf.components.transformers.base import check_choice

    return check_choice(f"selector {selector}", "task", task, TASKS)


@register("selector", "variance")
def variance(*, task: str, threshold: float = 0.0) -> SelectorMixin:
    """Drop columns whose training variance is at most threshold (default: constant columns)."""
    from sklearn.feature_selection import VarianceThreshold

    _task(task, "variance")
    return VarianceThreshold(threshold=threshold)


@register("selector", "k_best")
def k_best(*, task: str, k: int | str = 20, score: str = "mutual_info") -> SelectorMixin:
    """Keep the k columns scoring best against the target (mutual_info or f_test); all if fewer."""
    from sklearn.feature_selection import f_classif, f_regression

    from mlconf.components.transformers.base import check_choice
    from mlconf.components.transformers.selection import (
        KBestSelector,
        seeded_mutual_info_classif,
        seeded_mutual_info_regression,
    )

    classes = _task(task, "k_best") == "classification"
    check_choice("selector k_best", "score", score, SCORES)
    if score == "mutual_info":
        score_func = seeded_mutual_info_classif if classes else seeded_mutual_info_regression
    else:
        score_func = f_classif if classes else f_regression
    return KBestSelector(score_func=score_func, k=k)


@register("selector", "model_based")
def model_based(
    *,
    task: str,
    threshold: float | str = "median",
    max_features: int | None = None,
    random_state: int = 0,
) -> SelectorMixin:
    """Keep columns an ExtraTrees model finds important (above threshold, default the median)."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    from sklearn.feature_selection import SelectFromModel

    trees = (
        ExtraTreesClassifier
        if _task(task, "model_based") == "classification"
        else ExtraTreesRegressor
    )
    return SelectFromModel(
        trees(n_estimators=100, random_state=random_state),
        threshold=threshold,
        max_features=max_features,
    )
