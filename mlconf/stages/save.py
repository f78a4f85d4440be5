"""Save: the fitted pipeline and its manifest, written atomically into the run folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from omegaconf import OmegaConf

from mlconf.core import strict_json
from mlconf.ml.pipeline import deployable
from mlconf.ml.reference import REFERENCE_FILE
from mlconf.run_state import RunState
from mlconf.store.artifacts import BACKGROUND_FILE, TrainedModel, background_bytes, save_model


def save(ctx: RunState) -> None:
    from mlconf.ml.labelled import with_labels

    conf = ctx.conf
    # A model trained on a Dask cluster is stored as its ordinary xgboost estimator.
    ctx.pipeline = deployable(ctx.pipeline)
    model = trained_model(ctx)
    metrics = ctx.metrics
    extra = {
        "run_id": ctx.record.id,
        "experiment": conf.experiment_name,
        "model": OmegaConf.to_container(OmegaConf.structured(ctx.model)),
        "schema": OmegaConf.to_container(OmegaConf.structured(conf.schema)),
        "positive_class": conf.problem.positive_class,
        "primary_metric": conf.problem.primary_metric,
        "metrics": metrics.get("test", {}).get("model", {}),
        "passed": metrics.get("passed"),
        # the decision threshold built into the pipeline, how it was chosen, its curve
        "threshold": metrics.get("threshold"),
        "framing": {
            "objective": conf.problem.objective,
            "stakeholders": list(conf.problem.stakeholders),
            "usage": conf.problem.usage,
            "costs": metrics.get("costs"),
        },
        "data": ctx.record.fingerprints,
        # what batch scoring keeps and checks: id columns, and each input column's dtype
        "id_columns": list(conf.data.id_columns),
        "input_dtypes": _dtypes(ctx.training.x, model.input_columns),
        # what scoring, serving and monitoring drop and hash in everything they write
        "privacy": ctx.privacy.as_dict() if ctx.privacy else None,
        "versions": ctx.record.versions,
    }
    files: dict[str, bytes | Callable[[str], bytes]] = {}
    # What "normal" looks like, for `mlconf monitor`; it names the pipeline's sha256.
    files[REFERENCE_FILE] = _reference(ctx, model)
    rows = conf.explain.background_rows
    if rows > 0:
        # Training rows kept beside the model so mlconf.explain can explain any model later.
        files[BACKGROUND_FILE] = background_bytes(ctx.training.x, rows, conf.seed)
        extra["explain"] = {
            "background": BACKGROUND_FILE,
            "feature_sources": ctx.explain_sources,
        }
    # The file answers in labels outside mlconf; mlconf's loader scores with the codes.
    labelled = replace(model, pipeline=with_labels(model.pipeline, model.classes))
    folder = save_model(
        labelled, ctx.run_dir / "model", extra=extra, plugins=conf.plugins, files=files
    )
    ctx.model_dir = folder


def trained_model(ctx: RunState) -> TrainedModel:
    """The run's fitted pipeline with its task, target, input columns and classes."""
    return TrainedModel(
        pipeline=ctx.pipeline,
        task=ctx.conf.problem.task,
        target=ctx.conf.problem.target,
        input_columns=list(ctx.training.columns),
        classes=list(ctx.training.classes),
    )


def _dtypes(frame: Any, columns: list[str]) -> dict[str, str]:
    """The training dtype of each input column (as pandas names it), where known."""
    if frame is None:
        return {}
    return {c: str(frame[c].dtype) for c in columns if c in frame.columns}


def _held_out_outputs(
    ctx: RunState, model: TrainedModel, held_out: Any, part: str
) -> tuple[Any, Any]:
    """The held-out rows' predicted labels (classification) and scores (the positive class's
    probability, or the regression prediction): evaluate's predictions when it scored every
    row of the part, else the model's, predicted now."""
    import numpy as np

    done = ctx.predicted.get(part)
    if done is not None and len(done.rows) == len(held_out):
        codes, proba = done.by_role["model"]
        predicted = model.labels(codes)
    else:
        x = held_out[model.input_columns]
        predicted = model.predict(x)
        proba = model.predict_proba(x) if model.task == "classification" else None
    if model.task == "regression":
        return None, np.asarray(predicted, dtype=float)
    scores = proba[:, 1] if proba is not None and proba.shape[1] == 2 else None
    return predicted, scores


def _reference(ctx: RunState, model: TrainedModel) -> Callable[[str], bytes]:
    """The reference profile's bytes, given the pipeline sha256 (see mlconf.ml.reference)."""

    from mlconf.ml.reference import ProfileSettings, build_reference, prediction_profile

    conf = ctx.conf
    parts = ctx.parts if RunState.parts.made(ctx) else {}
    held_out = parts.get("validation")
    if held_out is None or len(held_out) == 0:
        held_out = parts.get("test")
    predictions: dict[str, Any] = {}
    if held_out is not None and len(held_out):
        part = "validation" if parts.get("validation") is held_out else "test"
        labels, scores = _held_out_outputs(ctx, model, held_out, part)
        predictions = prediction_profile(model.task, labels, scores, ProfileSettings())
        predictions["part"] = part
    metrics = ctx.metrics
    validation = metrics.get("validation", metrics.get("test", {})).get("model", {})
    rows = len(ctx.training.x)
    ctx.sampled(
        "reference",
        rows,
        rows,
        f"the drift reference (model/{REFERENCE_FILE}) counts every one of the {rows:,} "
        "training rows: drift tests compare counts, so it is never built from a sample",
    )

    def render(pipeline_sha256: str) -> bytes:
        document = build_reference(
            ctx.training.x,
            model.input_columns,
            task=model.task,
            predictions=predictions,
            metrics=validation,
            settings=ProfileSettings(),
            model_sha256=pipeline_sha256,
            run_id=ctx.record.id,
        )
        document["target"] = conf.problem.target
        return (strict_json.dumps(document, indent=1) + "\n").encode("utf-8")

    return render
