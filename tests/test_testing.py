"""mlconf.testing.check_component: every built-in passes it, and it catches broken plugins."""

from __future__ import annotations

from typing import Any

import pytest

from mlconf.core.component_registry import REGISTRY, Registry, register
from mlconf.testing import check_component

PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("source", "sklearn"): {"dataset": "wine"},
    ("source", "embedded"): {"dataset": "cars"},
    ("check", "max_missing_share"): {"share": 0.5},
    # the check's frame has no part column: its group column g (0..11) stands in for one
    ("splitter", "predefined"): {
        "part_column": "g",
        "part_labels": {
            "train": [str(g) for g in range(8)],
            "validation": ["8", "9"],
            "test": ["10", "11"],
        },
    },
}
CHECKED_KINDS = ("model", "transform", "selector", "metric", "check", "splitter", "source")


def builtins() -> list[tuple[str, str]]:
    registry = Registry()
    registry.load_builtins()
    pairs = []
    for kind in CHECKED_KINDS:
        for name in registry.names(kind):
            if kind == "source" and (kind, name) not in PARAMS:
                continue  # file and database sources need a path; tests/test_sources.py
            if registry.get(kind, name).meta.get("needs_cluster"):
                continue  # trains on a Dask cluster: tests/test_cluster.py checks it on one
            pairs.append((kind, name))
    return pairs


@pytest.mark.parametrize(("kind", "name"), builtins())
def test_every_builtin_passes_its_conformance_checks(kind: str, name: str) -> None:
    passed = check_component(kind, name, **PARAMS.get((kind, name), {}))
    assert passed and all(p.startswith(kind) for p in passed)


class _ForgetsToReturnSelf:
    """A model that breaks the scikit-learn contract: fit returns None."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def set_params(self, **params: Any) -> _ForgetsToReturnSelf:
        self.alpha = params.get("alpha", self.alpha)
        return self

    def fit(self, X: Any, y: Any) -> None:
        self.fitted_ = True

    def predict(self, X: Any) -> Any:
        return [0] * len(X)


@register("model", "tests_forgets_self")
def forgets_self(task: str, **params: Any) -> _ForgetsToReturnSelf:
    """A broken plugin model for the conformance tests."""
    return _ForgetsToReturnSelf(**params)


def test_a_model_whose_fit_does_not_return_self_fails_naming_the_rule() -> None:
    with pytest.raises(
        AssertionError, match=r"model 'tests_forgets_self'.*fit\(\) must return self"
    ):
        check_component("model", "tests_forgets_self")


def test_unknown_params_are_refused_before_checking() -> None:
    from mlconf.core.errors import MlconfError

    with pytest.raises(MlconfError, match="no parameter 'strategi'"):
        check_component("transform", "impute", strategi="median")


def test_a_metric_that_returns_a_string_fails() -> None:
    REGISTRY.add("metric", "tests_stringy", lambda *a, **k: "0.5", tasks=("regression",))
    with pytest.raises(AssertionError, match="must return a float"):
        check_component("metric", "tests_stringy")
