"""Build the one sklearn Pipeline (clean -> features -> select -> model) from config.

Training, batch scoring and serving all load this same fitted object, so the
transformations cannot differ between them (docs/architecture.md: one pipeline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.components._columns import SELECTS, ColumnPicker
from mlconf.config import FeaturesConfig, ModelConfig, NamedSpec, OutlierConfig
from mlconf.core.component_registry import build
from mlconf.core.errors import MlconfError, did_you_mean, unknown_parameter

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# model.params keys that mlconf reads itself and never passes to the estimator:
# `external_memory` makes the dask engine stream xgboost's training data (mlconf.scale).
ENGINE_PARAMS = ("external_memory",)


def _steps(specs: list[NamedSpec], where: str) -> list[tuple[str, Any]]:
    from sklearn.pipeline import Pipeline

    steps = []
    for i, spec in enumerate(specs):
        try:
            transform = build("transform", spec.name, **spec.params)
        except MlconfError as exc:
            raise MlconfError(exc.what, where=f"{where}[{i}]", fix=exc.fix) from exc
        if isinstance(transform, Pipeline):
            steps.extend(transform.steps)
        else:
            steps.append((f"{i}_{spec.name}", transform))
    return steps


def column_transformer(features: FeaturesConfig) -> Any:
    """One branch per column set; a column named in a set is not picked by dtype elsewhere."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    claimed = [c for cs in features.column_sets.values() for c in cs.columns]
    branches = []
    for name, cs in features.column_sets.items():
        if cs.select not in SELECTS:
            raise MlconfError(
                f"unknown select '{cs.select}'.{did_you_mean(cs.select, SELECTS)}",
                where=f"features.column_sets.{name}.select",
                fix=f"use one of: {', '.join(SELECTS)}",
            )
        exclude = [*cs.exclude, *([] if cs.select == "columns" else claimed)]
        picker = ColumnPicker(select=cs.select, columns=cs.columns, exclude=exclude)
        steps = _steps(cs.steps, f"features.column_sets.{name}.steps")
        branch: Any = Pipeline(steps) if steps else "passthrough"
        branches.append((name, branch, picker))
    if features.remainder not in ("drop", "passthrough"):
        raise MlconfError(
            f"remainder must be drop or passthrough, not '{features.remainder}'",
            where="features.remainder",
        )
    return ColumnTransformer(
        branches, remainder=features.remainder, verbose_feature_names_out=True
    ).set_output(transform="pandas")


def build_pipeline(
    features: FeaturesConfig,
    model: ModelConfig,
    *,
    task: str,
    outliers: OutlierConfig | None = None,
    privacy: dict[str, Any] | None = None,
) -> Pipeline:
    """PII guard, derived columns, outliers, column sets, interactions, selection, model.

    `privacy` ({drop, hash, salt_env}, from the privacy stage) puts the PII guard first,
    so that serving drops and hashes raw input exactly as training data was.
    """
    from sklearn.pipeline import Pipeline

    steps: list[tuple[str, Any]] = []
    if privacy and (privacy.get("drop") or privacy.get("hash")):
        guard = build(
            "transform",
            "pii_guard",
            drop_columns=list(privacy.get("drop", [])),
            hash_columns=list(privacy.get("hash", [])),
            salt_env=privacy.get("salt_env", "MLCONF_PII_SALT"),
        )
        steps.append(("privacy", guard))
    if features.derived:
        steps.append(("derived", build("transform", "expressions", expressions=features.derived)))
    if outliers is not None and outliers.method != "none" and outliers.action in ("clip", "flag"):
        steps.append(
            (
                "outliers",
                build(
                    "transform",
                    "outliers",
                    method=outliers.method,
                    action=outliers.action,
                    columns=outliers.columns or None,
                    factor=outliers.factor,
                    threshold=outliers.threshold,
                ),
            )
        )
    steps.append(("features", column_transformer(features)))
    if features.interactions is not None:
        steps.extend(_steps([features.interactions], "features.interactions"))
    if features.selection is not None:
        sel = features.selection
        try:
            steps.append(("select", build("selector", sel.name, task=task, **sel.params)))
        except MlconfError as exc:
            raise MlconfError(exc.what, where="features.selection", fix=exc.fix) from exc
    from mlconf.components.transformers.feature_names import SafeFeatureNames

    steps.append(("names", SafeFeatureNames()))
    steps.append(("model", make_model(model, task)))
    return Pipeline(steps)


def make_model(model: ModelConfig, task: str) -> Any:
    """The configured estimator; a parameter it does not take is named with a guess."""
    from mlconf.core.component_registry import get

    where = "config key model.name"
    try:
        factory = get("model", model.name).factory
        default = factory(task)
    except MlconfError as exc:
        raise MlconfError(exc.what, where=exc.where or where, fix=exc.fix) from exc
    params = {k: v for k, v in model.params.items() if k not in ENGINE_PARAMS}
    if hasattr(default, "get_params"):
        known = default.get_params(deep=False)
        for key in params:
            if key not in known:
                raise unknown_parameter(
                    f"model '{model.name}'",
                    key,
                    sorted(known),
                    where=f"config key model.params.{key}",
                )
    try:
        return factory(task, **params)
    except (TypeError, ValueError) as exc:
        raise MlconfError(
            f"model '{model.name}' rejected its params: {exc}", where="config key model.params"
        ) from exc


def deployable(model: Any) -> Any:
    """`model` with a final estimator that has `as_plain_estimator()` (xgboost trained on a
    Dask cluster) replaced by that ordinary estimator, inside a decision-threshold wrapper
    too: the saved model then loads and predicts like any other, without a cluster."""
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        model.steps[-1] = (name, deployable(last))
        return model
    if isinstance(model, FixedThresholdClassifier) and hasattr(model, "estimator_"):
        model.estimator = model.estimator_ = deployable(model.estimator_)
        return model
    plain = getattr(model, "as_plain_estimator", None)
    return plain() if callable(plain) else model
