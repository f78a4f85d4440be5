"""Fitting: the training matrices, the seeded pipeline, and a fit that explains failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.ml.features import feature_columns
from mlconf.ml.pipeline import build_pipeline
from mlconf.ml.target import Target, TrainingData, class_order, encode

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import ModelConfig, TrainConfig


def training_data(
    conf: TrainConfig,
    parts: dict[str, pd.DataFrame],
    warn: Callable[[str], None],
    classes_from: Any = None,
) -> TrainingData:
    """Features and encoded target of the training part.

    `classes_from` gives the values the classes are read from when the training part at
    hand is a sample (the Dask engine passes its tally over every partition).
    """
    problem = conf.problem
    train = parts["train"]
    columns = feature_columns(conf, train)
    if problem.task == "classification":
        values = train[problem.target] if classes_from is None else classes_from
        classes = class_order(values, problem.positive_class)
        y: Any = encode(train[problem.target], classes)
        unseen = set(map(str, parts["test"][problem.target])) - set(classes)
        if unseen and classes_from is None:
            warn(f"class(es) {sorted(unseen)} occur in test but not in train")
    else:
        classes = []
        y = train[problem.target].to_numpy(dtype=float)
    return TrainingData(columns=columns, classes=classes, x=train[columns], y=y)


def target_of(conf: TrainConfig, training: TrainingData) -> Target:
    return Target(conf.problem.target, conf.problem.task, tuple(training.classes))


def seeded_pipeline(
    conf: TrainConfig, model: ModelConfig, privacy: dict[str, Any] | None = None
) -> Any:
    """The configured pipeline around `model`, with every unset random_state seeded."""
    pipeline = build_pipeline(
        conf.features,
        model,
        task=conf.problem.task,
        outliers=conf.prepare.outliers,
        privacy=privacy,
    )
    params = pipeline.get_params()
    seeds = {k: conf.seed for k, v in params.items() if k.endswith("random_state") and v is None}
    if seeds:
        pipeline.set_params(**seeds)
    return pipeline


def validation_data(
    target: Target, frame: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, Any] | None:
    """The validation part, encoded like the training target, for early stopping."""
    if len(frame) == 0:
        return None
    rows, y = target.labelled(frame)
    return rows[columns], y


def fit(
    pipeline: Any,
    x: pd.DataFrame,
    y: Any,
    name: str,
    eval_data: tuple[pd.DataFrame, Any] | None = None,
    class_weight: str = "none",
) -> Any:
    """Fit, turning a library's complaint about the data or params into a clear error.

    A boosting model with `early_stopping_rounds` (or callbacks, as tuning's round
    pruning) watches `eval_data`: validation rows it does not train on, seen through the
    pipeline's own fitted feature steps. `class_weight="balanced"` weights each row by
    the inverse of its class's share (problem.class_weight).
    """
    weights = _row_weights(y, class_weight)
    try:
        if eval_data is not None and len(eval_data[0]) and _watches_eval_set(pipeline):
            features = pipeline[:-1].fit(x, y)
            eval_x = features.transform(eval_data[0])
            pipeline[-1].fit(
                features.transform(x),
                y,
                eval_set=[(eval_x, eval_data[1])],
                verbose=False,
                **weights,
            )
            return pipeline
        if weights and hasattr(pipeline, "steps"):
            weights = {f"{pipeline.steps[-1][0]}__{k}": v for k, v in weights.items()}
        return pipeline.fit(x, y, **weights)
    except MlconfError:
        raise
    except (ValueError, TypeError) as exc:
        raise MlconfError(
            f"fitting '{name}' failed: {exc}",
            where="stage train",
            fix="check the features config (e.g. impute missing values for models that need "
            "it) and the model params",
        ) from exc


def _row_weights(y: Any, class_weight: str) -> dict[str, Any]:
    """The fit keyword that weights rows by class, or nothing."""
    if class_weight != "balanced":
        return {}
    from sklearn.utils.class_weight import compute_sample_weight

    return {"sample_weight": compute_sample_weight("balanced", y)}


def takes_row_weights(model: Any) -> bool:
    """Whether a model's fit accepts sample_weight (what class weighting needs)."""
    import inspect

    estimator = model[-1] if hasattr(model, "steps") else model
    return "sample_weight" in inspect.signature(estimator.fit).parameters


def _watches_eval_set(pipeline: Any) -> bool:
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        return False
    model = pipeline[-1]
    # A callback that needs no scores (tuning's deadline) says so with watches_eval_set.
    callbacks = getattr(model, "callbacks", None) or []
    watches = getattr(model, "early_stopping_rounds", None) is not None or any(
        getattr(c, "watches_eval_set", True) for c in callbacks
    )
    return watches and hasattr(model, "get_xgb_params")
