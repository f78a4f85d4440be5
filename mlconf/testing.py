"""Conformance checks for components: test your plugin the way mlconf tests its built-ins.

    from mlconf.testing import check_component
    check_component("transform", "clip_negative")

Each check raises AssertionError naming the component and the rule it broke, and
returns the names of the checks that passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlconf.core.component_registry import REGISTRY, Component, check_params

Checks = list[str]


def check_component(kind: str, name: str, **params: Any) -> Checks:
    """Run the checks for `kind` on the registered component `name` built with `params`."""
    component = REGISTRY.get(kind, name)
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise AssertionError(f"no conformance checks exist for kind '{kind}' yet")
    check_params(component, params)
    return checker(component, params)


def _fail(component: Component, rule: str) -> AssertionError:
    return AssertionError(f"{component.kind} '{component.name}' ({component.origin}): {rule}")


def _frames(n: int = 60) -> tuple[Any, Any, Any]:
    """Small numeric and categorical frames with a few missing values, and a binary target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    numeric = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(1, 5, size=n)})
    numeric.loc[[3, 7], "a"] = np.nan
    categorical = pd.DataFrame(
        {"c": rng.choice(["x", "y", "z"], size=n), "d": rng.choice(["u", "v"], size=n)}
    )
    categorical.loc[[5], "c"] = np.nan
    y = (rng.uniform(size=n) > 0.5).astype(int)
    return numeric, categorical, y


def _roundtrip(component: Component, obj: Any) -> Any:
    import skops.io as sio

    try:
        data = sio.dumps(obj)
        return sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise _fail(component, f"cannot be saved and loaded with skops: {exc}") from exc


def _sklearn_contract(component: Component, obj: Any) -> None:
    from sklearn.base import clone

    if not hasattr(obj, "get_params"):
        raise _fail(component, "is not scikit-learn compatible (no get_params)")
    try:
        clone(obj)
    except Exception as exc:
        raise _fail(component, f"cannot be cloned: {exc} (store __init__ args unchanged)") from exc


def _check_model(component: Component, params: dict[str, Any]) -> Checks:
    import numpy as np

    numeric, _, y = _frames()
    x = numeric.fillna(0.0)
    passed: Checks = []
    for task, target in (("classification", y), ("regression", x["b"].to_numpy() * 2.0)):
        try:
            model = component.factory(task, **params)
        except Exception:  # noqa: S112 - a component need not support both tasks; skip that one
            continue
        _sklearn_contract(component, model)
        if model.fit(x, target) is not model:
            raise _fail(component, f"fit() must return self ({task})")
        pred = model.predict(x)
        if len(pred) != len(x):
            raise _fail(component, f"predict() returned {len(pred)} rows for {len(x)} ({task})")
        if task == "classification" and hasattr(model, "predict_proba"):
            proba = model.predict_proba(x)
            if not np.allclose(np.asarray(proba).sum(axis=1), 1.0):
                raise _fail(component, "predict_proba() rows must sum to 1")
        loaded = _roundtrip(component, model)
        if not np.allclose(
            np.asarray(loaded.predict(x), dtype=float), np.asarray(pred, dtype=float)
        ):
            raise _fail(component, "predictions change after a skops round trip")
        passed.append(f"model:{task}")
    if not passed:
        raise _fail(component, "could not be built for classification nor regression")
    return passed


def _check_transform(component: Component, params: dict[str, Any]) -> Checks:
    numeric, categorical, y = _frames()
    passed: Checks = []
    errors = []
    for label, frame in (("numeric", numeric), ("categorical", categorical)):
        transform = component.factory(**params)
        _sklearn_contract(component, transform)
        try:
            transform.set_output(transform="pandas")
            fitted = transform.fit(frame, y)
            out = transform.transform(frame)
        except Exception as exc:
            errors.append(f"{label}: {exc}")
            continue
        if fitted is not transform:
            raise _fail(component, "fit() must return self")
        if len(out) != len(frame):
            raise _fail(component, f"transform() changed the row count {len(frame)} -> {len(out)}")
        if hasattr(out, "index") and not out.index.equals(frame.index):
            raise _fail(component, "transform() changed the row order or index")
        _roundtrip(component, transform).transform(frame)
        passed.append(f"transform:{label}")
    if not passed:
        raise _fail(component, "fails on numeric and on categorical input: " + "; ".join(errors))
    return passed


def _check_selector(component: Component, params: dict[str, Any]) -> Checks:
    numeric, _, y = _frames()
    x = numeric.fillna(0.0)
    selector = component.factory(task="classification", **params)
    _sklearn_contract(component, selector)
    out = selector.fit(x, y).transform(x)
    if len(out) != len(x) or out.shape[1] > x.shape[1]:
        raise _fail(component, "a selector keeps every row and at most every column")
    _roundtrip(component, selector)
    return ["selector"]


def _check_metric(component: Component, params: dict[str, Any]) -> Checks:
    import numpy as np

    tasks = component.meta.get("tasks", ("classification", "regression"))
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    proba = np.column_stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1])
    reg = np.array([1.0, 2.0, 3.5, 4.0, 5.0, 6.5, 7.0, 8.0])
    passed: Checks = []
    for task in tasks:
        if task == "classification":
            value = component.factory(y, y, proba, labels=[0, 1], positive_class=1)
        else:
            value = component.factory(reg, reg + 0.5, None, labels=[], positive_class=None)
        if not isinstance(value, (float, int, np.floating)):
            raise _fail(component, f"must return a float, got {type(value).__name__}")
        passed.append(f"metric:{task}")
    return passed


def _check_source(component: Component, params: dict[str, Any]) -> Checks:
    import pandas as pd

    frame = component.factory(**params)
    if not isinstance(frame, pd.DataFrame):
        raise _fail(component, f"must return a pandas DataFrame, got {type(frame).__name__}")
    return ["source"]


def _check_check(component: Component, params: dict[str, Any]) -> Checks:
    import pandas as pd

    fn = component.factory(**params)
    if not callable(fn):
        raise _fail(component, "a check factory must return a function of a Series")
    result = fn(pd.Series([1.0, 2.0, None, 4.0]))
    if not isinstance(result, (bool, pd.Series)) and not hasattr(result, "dtype"):
        raise _fail(component, "a check must return a bool or a boolean Series")
    return ["check"]


def _check_splitter(component: Component, params: dict[str, Any]) -> Checks:
    import numpy as np
    import pandas as pd

    numeric, _, y = _frames()
    frame = numeric.assign(
        g=np.arange(len(numeric)) % 12, t=pd.date_range("2020", periods=len(numeric))
    )
    parts = component.factory(
        frame,
        pd.Series(y),
        test_size=0.2,
        validation_size=0.2,
        seed=0,
        task="classification",
        group_column="g",
        time_column="t",
        **params,
    )
    rows = np.concatenate([parts[p] for p in ("train", "validation", "test")])
    if sorted(rows.tolist()) != list(range(len(frame))):
        raise _fail(component, "parts must cover every row exactly once")
    return ["splitter"]


_CHECKERS: dict[str, Callable[[Component, dict[str, Any]], Checks]] = {
    "model": _check_model,
    "transform": _check_transform,
    "selector": _check_selector,
    "metric": _check_metric,
    "source": _check_source,
    "check": _check_check,
    "splitter": _check_splitter,
}
