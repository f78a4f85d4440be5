"""Save: the fitted pipeline and its manifest, written atomically into the run folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from mlconf.store.artifacts import BACKGROUND_FILE, TrainedModel, background_bytes, save_model

if TYPE_CHECKING:
    from mlconf.stages.context import RunContext


def save(ctx: RunContext) -> None:
    conf = ctx.conf
    model = TrainedModel(
        pipeline=ctx["pipeline"],
        task=conf.problem.task,
        target=conf.problem.target,
        input_columns=list(ctx["columns"]),
        classes=list(ctx["classes"]),
    )
    metrics = ctx.items.get("metrics", {})
    extra = {
        "run_id": ctx.record.id,
        "experiment": conf.experiment_name,
        "model": OmegaConf.to_container(OmegaConf.structured(conf.model)),
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
        "input_dtypes": _dtypes(ctx.items.get("x_train"), model.input_columns),
        "versions": ctx.record.versions,
    }
    files: dict[str, bytes] = {}
    rows = conf.explain.background_rows
    if rows > 0 and "x_train" in ctx.items:
        # Training rows kept beside the model so mlconf.explain can explain any model later.
        files[BACKGROUND_FILE] = background_bytes(ctx["x_train"], rows, conf.seed)
        extra["explain"] = {
            "background": BACKGROUND_FILE,
            "feature_sources": ctx.items.get("explain_sources"),
        }
    folder = save_model(
        model, ctx.run_dir / "model", extra=extra, plugins=conf.plugins, files=files
    )
    ctx["model_dir"] = folder


def _dtypes(frame: Any, columns: list[str]) -> dict[str, str]:
    """The training dtype of each input column (as pandas names it), where known."""
    if frame is None:
        return {}
    return {c: str(frame[c].dtype) for c in columns if c in frame.columns}
