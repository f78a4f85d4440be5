"""External-memory xgboost: the training part streams from its partition files through the
pipeline's fitted feature steps into xgboost's data-iterator API (ExtMemQuantileDMatrix),
which keeps the quantised pages on disk; the booster ends up in the configured sklearn
estimator, so the saved pipeline is the same kind of object as on the pandas engine."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd


def _partition_iter(
    files: list[Path],
    load: Callable[[Path], tuple[pd.DataFrame, Any]],
    cache_prefix: str,
) -> Any:
    import xgboost as xgb

    class PartitionIter(xgb.DataIter):
        """Each call of `next` hands xgboost one partition's features and labels."""

        def __init__(self) -> None:
            self._i = 0
            super().__init__(cache_prefix=cache_prefix, release_data=True)

        def next(self, input_data: Callable[..., None]) -> bool:
            if self._i == len(files):
                return False
            x, y = load(files[self._i])
            input_data(data=x, label=y)
            self._i += 1
            return True

        def reset(self) -> None:
            self._i = 0

    return PartitionIter()


def booster_params(model: Any, n_classes: int) -> tuple[dict[str, Any], int, int | None]:
    """xgboost's training params for the configured estimator, its round count and early
    stopping (what XGBModel.fit would pass to xgboost.train)."""
    params = dict(model.get_xgb_params())
    if n_classes > 2:
        if params.get("objective") != "multi:softmax":
            params["objective"] = "multi:softprob"
        params["num_class"] = n_classes
    params = {k: v for k, v in params.items() if v is not None}
    if model.eval_metric is not None:
        params["eval_metric"] = model.eval_metric
    rounds = int(model.n_estimators) if model.n_estimators is not None else 100
    return params, rounds, model.early_stopping_rounds


def fit_external(
    model: Any,
    features: Any,
    train_files: list[Path],
    load: Callable[[Path], tuple[pd.DataFrame, Any]],
    *,
    n_classes: int,
    validation_files: list[Path] | None = None,
) -> Any:
    """Train `model` (an xgboost sklearn estimator) on every training partition, streamed
    through the already fitted `features`; returns the model with its booster loaded."""
    import xgboost as xgb

    def transformed(path: Path) -> tuple[pd.DataFrame, Any]:
        x, y = load(path)
        return features.transform(x), y

    params, rounds, early_stopping = booster_params(model, n_classes)
    # The quantised pages live in a temporary folder only while the booster trains.
    with tempfile.TemporaryDirectory(prefix="mlconf-xgb-cache-") as cache:
        try:
            train = xgb.ExtMemQuantileDMatrix(
                _partition_iter(train_files, transformed, str(Path(cache) / "train")),
                max_bin=params.get("max_bin"),
                missing=model.missing,
                enable_categorical=bool(model.enable_categorical),
            )
            evals: list[Any] = []
            held_out = None
            if validation_files and early_stopping is not None:
                held_out = xgb.ExtMemQuantileDMatrix(
                    _partition_iter(validation_files, transformed, str(Path(cache) / "valid")),
                    ref=train,
                    missing=model.missing,
                    enable_categorical=bool(model.enable_categorical),
                )
                evals = [(held_out, "validation")]
            booster = xgb.train(
                params,
                train,
                num_boost_round=rounds,
                evals=evals,
                early_stopping_rounds=early_stopping if evals else None,
                verbose_eval=False,
            )
            # Free the matrices (and their page files) before the folder goes.
            del train, evals, held_out
        except xgb.core.XGBoostError as exc:
            raise MlconfError(
                f"external-memory training failed: {str(exc).strip().splitlines()[0]}",
                where="stage train (model.params.external_memory)",
                fix="check the model params; set model.params.external_memory=false to train "
                "in memory",
            ) from exc
    model.load_model(bytearray(booster.save_raw("ubj")))
    return model
