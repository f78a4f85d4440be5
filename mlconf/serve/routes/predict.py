"""`POST /predict`: predictions, class probabilities and a prediction id per record."""

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request

from mlconf.serve.body import openapi_body, read_json
from mlconf.serve.dependencies import ReadyModel, Service
from mlconf.serve.loader import Loaded
from mlconf.serve.records import RECORDS_SCHEMA, validate_records
from mlconf.serve.scoring import run_model, score
from mlconf.serve.state import ServiceState

router = APIRouter()


@router.post("/predict", openapi_extra=openapi_body(RECORDS_SCHEMA))
async def predict(request: Request, state: Service, loaded: ReadyModel) -> dict[str, Any]:
    """Predictions, class probabilities and a prediction id per record."""
    body = await read_json(request)
    started = time.perf_counter()
    records = validate_records(loaded, body, state.settings.max_records)
    predictions, proba = await run_model(len(records), score, loaded, records)
    latency_ms = (time.perf_counter() - started) * 1000
    ids = [str(uuid.uuid4()) for _ in records]
    results = []
    for i, prediction in enumerate(predictions):
        result: dict[str, Any] = {"prediction_id": ids[i], "prediction": prediction}
        if proba is not None:
            result["probabilities"] = dict(zip(loaded.labels, proba[i], strict=True))
        results.append(result)
    if loaded.model.task == "classification":
        state.metrics.predicted([str(p) for p in predictions])
    else:
        state.metrics.predicted(["value"] * len(predictions))
    if state.prediction_log is not None:
        _log(state, loaded, records, results, latency_ms)
    return {"model_name": loaded.name, "model_version": loaded.version, "results": results}


def _log(
    state: ServiceState,
    loaded: Loaded,
    records: list[Any],
    results: list[dict[str, Any]],
    latency_ms: float,
) -> None:
    """Hand the rows to the prediction log's writer thread (never written on this path)."""
    from mlconf.ml.privacy.policy import logged_inputs
    from mlconf.store.prediction_log import new_row

    per_record = latency_ms / len(records)
    inputs = logged_inputs(loaded.model, [r.model_dump(by_alias=True) for r in records])
    state.prediction_log.submit(
        [
            new_row(
                result["prediction_id"], loaded.name, loaded.version, inputs[i], result, per_record
            )
            for i, result in enumerate(results)
        ]
    )
