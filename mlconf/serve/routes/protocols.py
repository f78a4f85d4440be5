"""MLflow's scoring routes (`POST /invocations`, `GET /ping`) and the Open Inference
Protocol v2 (`/v2/...`), so MLflow, KServe and Seldon clients work unchanged.

Every record passes the same validation, scoring, metrics and prediction log as `/predict`.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mlconf.serve.body import openapi_body, read_json
from mlconf.serve.dependencies import ReadyModel, Service
from mlconf.serve.errors import RequestError
from mlconf.serve.loader import Loaded
from mlconf.serve.predicting import predict_records
from mlconf.serve.protocols import V2_INPUT_TYPES, mlflow_records, v2_datatype, v2_records
from mlconf.serve.responses import StrictJSONResponse

router = APIRouter()

MLFLOW_SCHEMA = {
    "description": "MLflow's scoring format: one of dataframe_split, dataframe_records, "
    "instances, inputs. The answer is {predictions: [...]}."
}
V2_SCHEMA = {"description": "Open Inference Protocol v2: one input tensor per model column."}


@router.get("/ping")
async def ping() -> dict[str, str]:
    """MLflow's liveness route."""
    return {"status": "ok"}


@router.post("/invocations", openapi_extra=openapi_body(MLFLOW_SCHEMA))
async def invocations(request: Request, state: Service, loaded: ReadyModel) -> Response:
    """MLflow's scoring route: {"predictions": [label or value per record]}."""
    records = mlflow_records(await read_json(request))
    scored = await predict_records(state, loaded, records, request.scope)
    return StrictJSONResponse({"predictions": scored.predictions})


@router.get("/v2")
async def v2_server() -> dict[str, Any]:
    """v2 server metadata."""
    from importlib import metadata

    from mlconf.core.distribution import DISTRIBUTION

    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        version = "unknown"
    return {"name": "mlconf", "version": version, "extensions": []}


@router.get("/v2/health/live")
async def v2_live() -> dict[str, bool]:
    return {"live": True}


@router.get("/v2/health/ready")
async def v2_ready(state: Service) -> Response:
    ready = state.current is not None
    return StrictJSONResponse({"ready": ready}, status_code=200 if ready else 503)


def _named(loaded: Loaded, name: str) -> None:
    if name != loaded.name:
        raise RequestError(
            404,
            "unknown_model",
            f"this service serves model '{loaded.name}', not '{name}'",
            f"use /v2/models/{loaded.name}",
        )


@router.get("/v2/models/{name}")
async def v2_model(name: str, loaded: ReadyModel) -> dict[str, Any]:
    """v2 model metadata: one input tensor per column, the outputs."""
    _named(loaded, name)
    classification = loaded.model.task == "classification"
    outputs = [
        {"name": "predict", "datatype": "BYTES" if classification else "FP64", "shape": [-1]}
    ]
    if classification:
        outputs.append(
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(loaded.labels)]}
        )
    outputs.append({"name": "prediction_id", "datatype": "BYTES", "shape": [-1]})
    return {
        "name": loaded.name,
        "versions": [loaded.version],
        "platform": "mlconf",
        "inputs": [
            {"name": r.column, "datatype": V2_INPUT_TYPES[r.kind], "shape": [-1]}
            for r in loaded.rules
        ],
        "outputs": outputs,
    }


@router.get("/v2/models/{name}/ready")
async def v2_model_ready(name: str, loaded: ReadyModel) -> dict[str, Any]:
    _named(loaded, name)
    return {"name": loaded.name, "ready": True}


@router.post("/v2/models/{name}/infer", openapi_extra=openapi_body(V2_SCHEMA))
async def v2_infer(name: str, request: Request, state: Service, loaded: ReadyModel) -> Response:
    """v2 inference: outputs `predict`, `predict_proba` (classifiers) and `prediction_id`."""
    _named(loaded, name)
    body = await read_json(request)
    scored = await predict_records(state, loaded, v2_records(body), request.scope)
    n = len(scored.predictions)
    outputs: list[dict[str, Any]] = [
        {
            "name": "predict",
            "datatype": v2_datatype(scored.predictions),
            "shape": [n],
            "data": scored.predictions,
        }
    ]
    if scored.proba is not None:
        width = len(loaded.labels)
        flat = [p for row in scored.proba for p in row]
        outputs.append(
            {
                "name": "predict_proba",
                "datatype": "FP64",
                "shape": [n, width],
                "data": flat,
                "parameters": {"classes": loaded.labels},
            }
        )
    ids = [r["prediction_id"] for r in scored.results]
    outputs.append({"name": "prediction_id", "datatype": "BYTES", "shape": [n], "data": ids})
    answer: dict[str, Any] = {
        "model_name": loaded.name,
        "model_version": loaded.version,
        "outputs": outputs,
    }
    if isinstance(body.get("id"), str):
        answer["id"] = body["id"]
    return StrictJSONResponse(answer)
