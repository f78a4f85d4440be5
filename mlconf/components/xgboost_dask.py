"""`model=xgboost_dask`: xgboost trained by `xgboost.dask` on the run's Dask cluster.

The estimators are xgboost's own scikit-learn classes with another `fit`: the rows (a
pandas frame, split into about one partition per worker, or a dask frame as it comes)
train on the cluster's workers, and the fitted Booster is kept in the estimator. Predicting,
TreeSHAP (`pred_contribs`) and everything after training then run without a cluster, and
`as_plain_estimator()` gives the ordinary `xgboost.XGBClassifier`/`XGBRegressor` that the
model folder stores, so `mlconf predict` and `mlconf serve` load it like any xgboost model.

This module imports xgboost at the top (its classes are subclassed); it is imported only
by the `xgboost_dask` model factory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xgboost as xgb

from mlconf.components.cluster import current_client, require_distributed, worker_count

if TYPE_CHECKING:
    import pandas as pd

WHERE = "config key model.name (xgboost_dask)"


def is_dask(value: Any) -> bool:
    return hasattr(value, "__dask_graph__")


def partitioned(x: Any, y: Any, partitions: int) -> tuple[Any, Any]:
    """Features and target as dask collections with matching partitions.

    A pandas frame becomes `partitions` partitions (dd.from_pandas); a dask frame is kept as
    it is, and a target in memory is cut to its partitions' lengths.
    """
    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    if is_dask(x):
        if is_dask(y):
            return x, y
        lengths = tuple(int(n) for n in x.map_partitions(len).compute())
        return x, da.from_array(np.asarray(y), chunks=(lengths,))
    frame = pd.DataFrame(x).reset_index(drop=True)
    x_d = dd.from_pandas(frame, npartitions=max(1, partitions), sort=True)
    # The target as a dask array cut like the frame (its index is 0..n-1, so the divisions
    # give each partition's length): no pass over the data, and xgboost finds the classes
    # without the shuffle that a dask series' drop_duplicates starts.
    lengths = tuple(int(n) for n in np.diff([int(d) for d in x_d.divisions]))
    lengths = (*lengths[:-1], lengths[-1] + 1) if lengths else (len(frame),)
    return x_d, da.from_array(np.asarray(y), chunks=(lengths,))


_TARGET = "__mlconf_target__"


def lazy_parts(
    files: list[Path], load: Callable[[Path], tuple[pd.DataFrame, Any]], features: Any
) -> tuple[Any, Any]:
    """Features and target of partition files as dask collections, one partition per file.

    The workers read each file and apply the fitted feature steps themselves, so the rows
    never pass through this process (the files must be readable where the workers run).
    """
    import dask.dataframe as dd
    import pandas as pd

    def part(path: Path) -> pd.DataFrame:
        x, y = load(path)
        frame = pd.DataFrame(features.transform(x)).reset_index(drop=True)
        frame[_TARGET] = y
        return frame

    lazy = dd.from_map(part, list(files))
    # The target as an array: xgboost finds a dask series' classes with a shuffle.
    return lazy.drop(columns=[_TARGET]), lazy[_TARGET].to_dask_array()


def _fit_on_cluster(model: Any, dask_class: type, x: Any, y: Any, **fit_params: Any) -> None:
    """Train `dask_class` with `model`'s params on the cluster; keep its Booster in `model`."""
    require_distributed(WHERE)
    client = current_client(WHERE)
    partitions = worker_count(client)
    x_d, y_d = partitioned(x, y, partitions)
    eval_set = fit_params.pop("eval_set", None)
    if eval_set:
        fit_params["eval_set"] = [partitioned(ex, ey, partitions) for ex, ey in eval_set]
    trained = dask_class(**model.get_params())
    trained.client = client
    trained.fit(x_d, y_d, **fit_params)
    _copy_fitted(trained, model)


def _copy_fitted(source: Any, target: Any) -> Any:
    """Give `target` the fitted state of `source`: the Booster, class count, eval history."""
    target._Booster = source.get_booster()
    for name in ("n_classes_", "evals_result_"):
        if hasattr(source, name):
            setattr(target, name, getattr(source, name))
    return target


class DaskTrainedXGBClassifier(xgb.XGBClassifier):
    """xgboost's classifier, trained on the Dask cluster by `xgboost.dask`."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> DaskTrainedXGBClassifier:
        import xgboost.dask as xd

        _fit_on_cluster(self, xd.DaskXGBClassifier, X, y, **fit_params)
        return self

    def as_plain_estimator(self) -> xgb.XGBClassifier:
        """The same fitted model as an ordinary `xgboost.XGBClassifier`."""
        return _copy_fitted(self, xgb.XGBClassifier(**self.get_params()))


class DaskTrainedXGBRegressor(xgb.XGBRegressor):
    """xgboost's regressor, trained on the Dask cluster by `xgboost.dask`."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> DaskTrainedXGBRegressor:
        import xgboost.dask as xd

        _fit_on_cluster(self, xd.DaskXGBRegressor, X, y, **fit_params)
        return self

    def as_plain_estimator(self) -> xgb.XGBRegressor:
        """The same fitted model as an ordinary `xgboost.XGBRegressor`."""
        return _copy_fitted(self, xgb.XGBRegressor(**self.get_params()))
