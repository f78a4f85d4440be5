"""Model families. Each factory takes the task and its params and returns an unfitted estimator."""

from __future__ import annotations

from typing import Any

from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError

TASKS = ("classification", "regression")


def _for_task(task: str, name: str, classifier: Any, regressor: Any) -> Any:
    if task == "classification" and classifier is not None:
        return classifier
    if task == "regression" and regressor is not None:
        return regressor
    raise MlconfError(
        f"model '{name}' does not support task '{task}'",
        where="config key model.name",
        fix=f"pick a model made for {task}, or set problem.task to one of {', '.join(TASKS)}",
    )


@register("model", "xgboost")
def xgboost(task: str, **params: Any) -> Any:
    """Gradient-boosted trees (XGBoost), with native categorical support on."""
    import xgboost as xgb

    merged = _xgboost_params(params)
    if task == "classification":
        return xgb.XGBClassifier(**merged)
    return _for_task(task, "xgboost", None, xgb.XGBRegressor(**merged))


@register("model", "xgboost_dask", needs_cluster=True)
def xgboost_dask(task: str, **params: Any) -> Any:
    """XGBoost trained on the run's Dask cluster (xgboost.dask), saved as ordinary xgboost."""
    from mlconf.components.xgboost_dask import DaskTrainedXGBClassifier, DaskTrainedXGBRegressor

    merged = _xgboost_params(params)
    if task == "classification":
        return DaskTrainedXGBClassifier(**merged)
    return _for_task(task, "xgboost_dask", None, DaskTrainedXGBRegressor(**merged))


def _xgboost_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"enable_categorical": True, "tree_method": "hist", **params}


@register("model", "random_forest")
def random_forest(task: str, **params: Any) -> Any:
    """A random forest of decision trees."""
    from sklearn import ensemble

    cls = ensemble.RandomForestClassifier if task == "classification" else None
    reg = ensemble.RandomForestRegressor if task == "regression" else None
    return _for_task(task, "random_forest", cls, reg)(**params)


@register("model", "extra_trees")
def extra_trees(task: str, **params: Any) -> Any:
    """Extremely randomised trees."""
    from sklearn import ensemble

    cls = ensemble.ExtraTreesClassifier if task == "classification" else None
    reg = ensemble.ExtraTreesRegressor if task == "regression" else None
    return _for_task(task, "extra_trees", cls, reg)(**params)


@register("model", "hist_gb")
def hist_gb(task: str, **params: Any) -> Any:
    """scikit-learn's histogram gradient boosting."""
    from sklearn import ensemble

    cls = ensemble.HistGradientBoostingClassifier if task == "classification" else None
    reg = ensemble.HistGradientBoostingRegressor if task == "regression" else None
    return _for_task(task, "hist_gb", cls, reg)(**params)


@register("model", "logistic")
def logistic(task: str, **params: Any) -> Any:
    """Logistic regression (classification); ordinary least squares for regression."""
    from sklearn import linear_model

    if task == "regression":
        return linear_model.LinearRegression(**params)
    return _for_task(task, "logistic", linear_model.LogisticRegression, None)(**params)


@register("model", "linear")
def linear(task: str, **params: Any) -> Any:
    """Ordinary least squares regression."""
    from sklearn import linear_model

    return _for_task(task, "linear", None, linear_model.LinearRegression)(**params)


@register("model", "ridge")
def ridge(task: str, **params: Any) -> Any:
    """L2-regularised linear model (RidgeClassifier for classes)."""
    from sklearn import linear_model

    cls = linear_model.RidgeClassifier if task == "classification" else None
    reg = linear_model.Ridge if task == "regression" else None
    return _for_task(task, "ridge", cls, reg)(**params)


@register("model", "knn")
def knn(task: str, **params: Any) -> Any:
    """k nearest neighbours."""
    from sklearn import neighbors

    cls = neighbors.KNeighborsClassifier if task == "classification" else None
    reg = neighbors.KNeighborsRegressor if task == "regression" else None
    return _for_task(task, "knn", cls, reg)(**params)


@register("model", "svm")
def svm(task: str, **params: Any) -> Any:
    """Support vector machine (with probabilities for classification)."""
    from sklearn import svm as _svm

    if task == "classification":
        return _svm.SVC(**{"probability": True, **params})
    return _for_task(task, "svm", None, _svm.SVR)(**params)


@register("model", "mlp")
def mlp(task: str, **params: Any) -> Any:
    """A multi-layer perceptron."""
    from sklearn import neural_network

    if "hidden_layer_sizes" in params:
        params = {**params, "hidden_layer_sizes": tuple(params["hidden_layer_sizes"])}
    cls = neural_network.MLPClassifier if task == "classification" else None
    reg = neural_network.MLPRegressor if task == "regression" else None
    return _for_task(task, "mlp", cls, reg)(**params)


@register("model", "dummy")
def dummy(task: str, **params: Any) -> Any:
    """The baseline: the prior class, or the mean, whatever the features say."""
    from sklearn import dummy as _dummy

    if task == "classification":
        return _dummy.DummyClassifier(**{"strategy": "prior", **params})
    return _for_task(task, "dummy", None, _dummy.DummyRegressor)(**params)
