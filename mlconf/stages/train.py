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
    import numpy as np

    codes = {c: i for i, c in enumerate(classes)}
    return np.array([codes[str(v)] for v in y], dtype=np.int64)


def train(ctx: RunContext) -> None:
    conf = ctx.conf
    problem = conf.problem
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
    pipeline = build_pipeline(
        conf.features, conf.model, task=problem.task, outliers=conf.prepare.outliers
    )
    _set_seed(pipeline, conf.seed)
    ctx.console.print(
        f"  fitting {conf.model.name} on {len(x_train):,} rows x {len(columns)} columns"
    )
    ctx["pipeline"] = _fit(pipeline, x_train, y_train, conf.model.name)
    # The dummy ignores the features, so it needs no feature pipeline (a costly refit).
    baseline = make_model(ModelConfig(name="dummy"), problem.task)
    ctx["baseline"] = _fit(baseline, x_train, y_train, "dummy")
    if conf.split.folds > 1:
        ctx["cv"] = _cross_validate(ctx, pipeline, x_train, y_train)


def _fit(pipeline: Any, x: pd.DataFrame, y: Any, name: str) -> Any:
    try:
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


def _set_seed(pipeline: Any, seed: int) -> None:
    """Seed every step that takes a random_state, unless the config set one."""
    params = pipeline.get_params()
    seeds = {k: seed for k, v in params.items() if k.endswith("random_state") and v is None}
    if seeds:
        pipeline.set_params(**seeds)


def _cross_validate(ctx: RunContext, pipeline: Any, x: pd.DataFrame, y: Any) -> dict[str, Any]:
    """k-fold on the training part: mean and spread of every metric across folds."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from mlconf.stages.evaluate import predictions, score_part

    conf = ctx.conf
    folds = conf.split.folds
    splitter_cls = StratifiedKFold if conf.problem.task == "classification" else KFold
    splitter = splitter_cls(n_splits=folds, shuffle=True, random_state=conf.seed)
    per_fold: dict[str, list[float]] = {}
    for i, (fit_idx, val_idx) in enumerate(splitter.split(x, y)):
        fold_model = _fit(clone(pipeline), x.iloc[fit_idx], y[fit_idx], conf.model.name)
        y_pred, y_proba = predictions(fold_model, x.iloc[val_idx], conf.problem.task)
        scores = score_part(ctx, y[val_idx], y_pred, y_proba, bootstrap=0)
        for name, value in scores.items():
            per_fold.setdefault(name, []).append(value.value)
        ctx.console.print(f"  fold {i + 1}/{folds} done")
    return {
        name: {"mean": float(np.nanmean(v)), "std": float(np.nanstd(v)), "folds": v}
        for name, v in per_fold.items()
    }
