"""`POST /feedback`: the true outcome of an earlier prediction, stored for monitoring.

The checks themselves (the body, the outcome against its model version) are in
mlconf.serve.feedback; this route finds the prediction and its version.
"""

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request

from mlconf.serve.body import openapi_body, read_json
from mlconf.serve.dependencies import PredictionLog, ReadyModel, Service
from mlconf.serve.errors import RequestError
from mlconf.serve.feedback import ID_CHARS, parse

router = APIRouter()

FEEDBACK_SCHEMA = {
    "type": "object",
    "required": ["prediction_id", "outcome"],
    "properties": {
        "prediction_id": {"type": "string", "minLength": 1, "maxLength": ID_CHARS},
        "outcome": {
            "description": "the true outcome: one of the classes of the model version that "
            "made the prediction (as JSON, case and type as in GET /model), or a finite "
            "number for a regression",
            "not": {"type": "null"},
        },
    },
}


# The dependencies run in the order declared: no log (409) is said before no model (503).
@router.post("/feedback", openapi_extra=openapi_body(FEEDBACK_SCHEMA))
async def feedback(
    request: Request, state: Service, plog: PredictionLog, loaded: ReadyModel
) -> dict[str, Any]:
    """Store the true outcome of an earlier prediction of this model, checked against the
    model version that made it, for monitoring."""
    prediction_id, outcome = parse(await read_json(request))
    origin = await to_thread.run_sync(plog.origin, prediction_id)
    if origin is None:
        raise RequestError(404, "unknown_prediction", f"no prediction with id '{prediction_id}'")
    name, version = origin
    if name != loaded.name:
        raise RequestError(
            409,
            "other_model",
            f"prediction '{prediction_id}' was made by model '{name}', not by '{loaded.name}' "
            "that this service serves",
            f"send its feedback to the service of model '{name}'",
        )
    rule = await to_thread.run_sync(state.outcome_rule, name, version)
    if rule is None:
        raise RequestError(
            409,
            "unknown_model_version",
            f"prediction '{prediction_id}' was made by model '{name}' version {version}, "
            f"which this service neither served nor finds in the registry (it serves "
            f"version {loaded.version}), so the outcome cannot be checked",
            "give this outcome to mlconf monitor in a labels file (performance.labels_file)",
        )
    stored = rule.check(outcome)
    await to_thread.run_sync(plog.add_feedback, prediction_id, stored)
    return {"stored": True, "prediction_id": prediction_id}
