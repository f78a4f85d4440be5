"""Train: fit the one pipeline on the training part, beside the dummy baseline; then the
cross-validation estimate and the decision threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.config import ModelConfig
from mlconf.core.component_registry import REGISTRY, require
from mlconf.core.errors import MlconfError
from mlconf.ml.pipeline import make_model
from mlconf.ml.training import fit, seeded_pipeline, target_of, validation_data
from mlconf.ml.tuning.deadline import final_fit_within
from mlconf.ml.tuning.warm import LATER_IMPORTS  # imported while the model fits

if TYPE_CHECKING:
    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def train(ctx: RunState) -> None:
    conf = ctx.conf
    training = ctx.training
    model = ctx.model
    pipeline = seeded_pipeline(conf, model, ctx.pipeline_privacy)
    ctx.console.print(
        f"  fitting {model.name} on {len(training.x):,} rows x {training.x.shape[1]} columns"
    )
    held_out = held_out_rows(ctx)
    if held_out is None and getattr(pipeline[-1], "early_stopping_rounds", None) is not None:
        ctx.warn(
            "model.params.early_stopping_rounds needs validation rows to stop on, but the "
            "validation part is empty (split.validation_size=0): every tree is trained; set "
            "split.validation_size above 0 to stop early"
        )
        pipeline[-1].set_params(early_stopping_rounds=None)
    weighting = conf.problem.class_weight
    warm_up_later_stages(ctx)
    with final_fit_within(ctx.tuning_deadline, pipeline[-1]) as final:
        ctx.pipeline = fit(pipeline, training.x, training.y, model.name, held_out, weighting)
    if final.cut_at is not None:
        of = f" of {final.trees}" if final.trees else ""
        ctx.warn(
            f"the final fit stopped at {final.cut_at}{of} trees: tune.timeout was nearly "
            "spent (the load rose, or the refit was estimated low); raise tune.timeout to "
            "train them all"
        )
        ctx.count("final_fit_trees", final.cut_at)
    elif final.late:
        ctx.warn(
            "tune.timeout was spent before the final fit began: it trains all its trees and the "
            "run ends after the budget; raise tune.timeout, or lower tune.folds"
        )
    # The dummy ignores the features, so it needs no feature pipeline (a costly refit).
    baseline = make_model(ModelConfig(name="dummy"), conf.problem.task)
    ctx.baseline = fit(baseline, training.x, training.y, "dummy")
    if conf.split.folds > 1:
        from mlconf.ml.crossval import cross_validate

        ctx.cv = cross_validate(
            conf,
            len(training.classes),
            pipeline,
            training.x,
            training.y,
            conf.split.folds,
            say=ctx.console.print,
            label=model.name,
        )
    choose_threshold(ctx)


def warm_up_later_stages(ctx: RunState) -> None:
    """Import what the stages after training need while the model fits (Background.warm)."""
    modules = [m for stage in ctx.conf.stages for m in LATER_IMPORTS.get(stage, ())]
    if modules:
        ctx.background.warm("train", modules)


def held_out_rows(ctx: RunState) -> tuple[Any, Any] | None:
    """The validation part as the model sees it, for early stopping and the threshold."""
    training = ctx.training
    target = target_of(ctx.conf, training)
    return validation_data(target, ctx.parts["validation"], training.columns)


def choose_threshold(ctx: RunState) -> None:
    """Pick the threshold on the validation part and build it into the pipeline."""
    from mlconf.ml.thresholds import apply

    n_classes = len(ctx.training.classes)
    held_out = lambda: held_out_rows(ctx)  # noqa: E731 - read only when a threshold is chosen
    ctx.pipeline, ctx.threshold = apply(
        ctx.conf, ctx.model.name, n_classes, ctx.pipeline, held_out, ctx.warn, ctx.console.print
    )
    if ctx.threshold is not None:
        ctx.count("decision_threshold", ctx.threshold.threshold)


def check(conf: TrainConfig) -> None:
    """The model, its params and every feature step name registered components; a model
    that trains on a Dask cluster has one configured."""
    require("model", conf.model.name, "model.name")
    for set_name, column_set in conf.features.column_sets.items():
        for i, step in enumerate(column_set.steps):
            require("transform", step.name, f"features.column_sets.{set_name}.steps[{i}].name")
    if conf.features.selection is not None:
        require("selector", conf.features.selection.name, "features.selection.name")
    if conf.features.interactions is not None:
        require("transform", conf.features.interactions.name, "features.interactions.name")
    make_model(conf.model, conf.problem.task)
    _check_weighting(conf)
    _check_cluster(conf)


def _check_weighting(conf: TrainConfig) -> None:
    """Class weighting needs models whose fit takes row weights, and the pandas engine."""
    from mlconf.ml.training import takes_row_weights
    from mlconf.stages.select import candidate_models
    from mlconf.stages.tune import tuned_model

    if conf.problem.class_weight == "none":
        return
    models = [conf.model, *candidate_models(list(conf.model_selection.candidates))]
    if conf.search.space:
        models.append(ModelConfig(name=tuned_model(conf)))
    for model in models:
        if model.name != "dummy" and not takes_row_weights(make_model(model, conf.problem.task)):
            raise MlconfError(
                f"model '{model.name}' cannot weight rows (its fit takes no sample_weight)",
                where="problem.class_weight",
                fix="pick a model that can (e.g. logistic_regression, random_forest, "
                "xgboost), or set problem.class_weight=none",
            )
    if conf.data.engine != "pandas":
        raise MlconfError(
            "class weighting is not available with the dask engine",
            where="problem.class_weight",
            fix="set problem.class_weight=none with data.engine=dask",
        )


def _check_cluster(conf: TrainConfig) -> None:
    """A model that trains on a Dask cluster (registered with needs_cluster) needs one."""
    from mlconf.components.cluster import configured
    from mlconf.stages.select import candidate_models
    from mlconf.stages.tune import tuned_families

    names = [conf.model.name, *(c.name for c in candidate_models(conf.model_selection.candidates))]
    names.extend(tuned_families(conf))
    needing = sorted({n for n in names if REGISTRY.get("model", n).meta.get("needs_cluster")})
    if needing and not configured(conf.cluster):
        raise MlconfError(
            f"model {', '.join(needing)} trains on a Dask cluster, but none is configured",
            where="config key cluster",
            fix="add cluster=local (starts a local cluster for the run) or "
            "cluster.address=tcp://host:port (an existing one)",
        )
