"""Train: fit the one pipeline on the training part, beside the dummy baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.config import ModelConfig
from mlconf.errors import MlconfError
from mlconf.pipeline import build_pipeline, make_model
from mlconf.stages.prepare import feature_columns

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.stages.context import RunContext


def class_order(values: Any, positive_class: Any) -> list[Any]:
    """Sorted classes with the positive one last, so binary column 1 is its probability."""
    classes = sorted({str(v) for v in values})
    if positive_class is not None:
        classes.remove(str(positive_class))
        classes.append(str(positive_class))
    return classes


def encode(y: pd.Series, classes: list[Any]) -> np.ndarray:
    """Class codes in the order of `classes` (vectorised: this runs on every row)."""
    import numpy as np
    import pandas as pd

    codes = pd.Index(classes).get_indexer(pd.Series(y).astype(str))
    if (codes < 0).any():
        raise KeyError(f"labels not among the classes {classes}")
    return codes.astype(np.int64)


def training_data(ctx: RunContext) -> tuple[pd.DataFrame, Any]:
    """Features and encoded target of the training part, computed once per run."""
    if "x_train" in ctx.items:
        return ctx["x_train"], ctx["y_train"]
    problem = ctx.conf.problem
    parts: dict[str, pd.DataFrame] = ctx["parts"]
    columns = feature_columns(ctx, parts["train"])
    x_train = parts["train"][columns]
    if problem.task == "classification":
        classes = class_order(parts["train"][problem.target], problem.positive_class)
        y_train: Any = encode(parts["train"][problem.target], classes)
        unseen = set(map(str, parts["test"][problem.target])) - set(classes)
        if unseen:
            ctx.warn(f"class(es) {sorted(unseen)} occur in test but not in train")
    else:
        classes = []
        y_train = parts["train"][problem.target].to_numpy(dtype=float)
    ctx["classes"] = classes
    ctx["columns"] = columns
    ctx["x_train"], ctx["y_train"] = x_train, y_train
    return x_train, y_train


def seeded_pipeline(ctx: RunContext, model: ModelConfig) -> Any:
    """The configured pipeline around `model`, with every unset random_state seeded."""
    conf = ctx.conf
    pipeline = build_pipeline(
        conf.features,
        model,
        task=conf.problem.task,
        outliers=conf.prepare.outliers,
        privacy=ctx.items.get("privacy"),
    )
    _set_seed(pipeline, conf.seed)
    return pipeline


def train(ctx: RunContext) -> None:
    conf = ctx.conf
    x_train, y_train = training_data(ctx)
    pipeline = seeded_pipeline(ctx, conf.model)
    ctx.console.print(
        f"  fitting {conf.model.name} on {len(x_train):,} rows x {x_train.shape[1]} columns"
    )
    held_out = validation_data(ctx)
    if held_out is None and getattr(pipeline[-1], "early_stopping_rounds", None) is not None:
        ctx.warn(
            "model.params.early_stopping_rounds needs validation rows to stop on, but the "
            "validation part is empty (split.validation_size=0): every tree is trained; set "
            "split.validation_size above 0 to stop early"
        )
        pipeline[-1].set_params(early_stopping_rounds=None)
    ctx["pipeline"] = fit(pipeline, x_train, y_train, conf.model.name, held_out)
    # The dummy ignores the features, so it needs no feature pipeline (a costly refit).
    baseline = make_model(ModelConfig(name="dummy"), conf.problem.task)
    ctx["baseline"] = fit(baseline, x_train, y_train, "dummy")
    if conf.split.folds > 1:
        from mlconf.stages.crossval import cross_validate

        ctx["cv"] = cross_validate(ctx, pipeline, x_train, y_train, conf.split.folds)
    from mlconf.stages.threshold import choose

    choose(ctx)


def fit(
    pipeline: Any,
    x: pd.DataFrame,
    y: Any,
    name: str,
    eval_data: tuple[pd.DataFrame, Any] | None = None,
) -> Any:
    """Fit, turning a library's complaint about the data or params into a clear error.

    A boosting model with `early_stopping_rounds` (or callbacks, as tuning's round
    pruning) watches `eval_data`: validation rows it does not train on, seen through the
    pipeline's own fitted feature steps.
    """
    try:
        if eval_data is not None and len(eval_data[0]) and _watches_eval_set(pipeline):
            features = pipeline[:-1].fit(x, y)
            eval_x = features.transform(eval_data[0])
            pipeline[-1].fit(
                features.transform(x), y, eval_set=[(eval_x, eval_data[1])], verbose=False
            )
            return pipeline
        return pipeline.fit(x, y)
    except MlconfError:
        raise
    except (ValueError, TypeError) as exc:
        raise MlconfError(
            f"fitting '{name}' failed: {exc}",
            where="stage train",
            fix="check the features config (e.g. impute missing values for models that need "
            "it) and the model params",
        ) from exc


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


def validation_data(ctx: RunContext) -> tuple[pd.DataFrame, Any] | None:
    """The validation part, encoded like the training target, for early stopping."""
    parts: dict[str, pd.DataFrame] = ctx["parts"]
    frame = parts["validation"]
    if len(frame) == 0:
        return None
    target = ctx.conf.problem.target
    x = frame[ctx["columns"]]
    if ctx.conf.problem.task == "classification":
        known = frame[target].astype(str).isin(ctx["classes"]).to_numpy()
        return x[known], encode(frame[target][known], ctx["classes"])
    return x, frame[target].to_numpy(dtype=float)


def _set_seed(pipeline: Any, seed: int) -> None:
    """Seed every step that takes a random_state, unless the config set one."""
    params = pipeline.get_params()
    seeds = {k: seed for k, v in params.items() if k.endswith("random_state") and v is None}
    if seeds:
        pipeline.set_params(**seeds)
