"""`GET /model`: what a client needs to call the service: the version, the input schema."""

from typing import Any

from fastapi import APIRouter

from mlconf.serve.dependencies import ReadyModel, Service

router = APIRouter()


@router.get("/model")
async def model_info(state: Service, loaded: ReadyModel) -> dict[str, Any]:
    """The model being served: version, input schema, metrics."""
    manifest = loaded.model.manifest
    return {
        "model_name": loaded.name,
        "model_version": loaded.version,
        "ref": loaded.ref,
        "sha256": loaded.sha256,
        "loaded_at": loaded.loaded_at,
        "task": loaded.model.task,
        "target": loaded.model.target,
        "classes": list(loaded.model.classes),
        "input_columns": list(loaded.model.input_columns),
        "schema": {rule.column: rule.describe() for rule in loaded.rules},
        "extra_fields": state.settings.extra_fields,
        "metrics": manifest.get("metrics", {}),
        "passed": manifest.get("passed"),
        "threshold": manifest.get("threshold"),
        "primary_metric": manifest.get("primary_metric"),
        "scorer": {"compiled": loaded.scorer is not None, "note": loaded.scorer_note},
    }
