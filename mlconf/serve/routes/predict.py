"""`POST /predict`: predictions, class probabilities and a prediction id per record."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mlconf.serve.body import openapi_body, read_json
from mlconf.serve.dependencies import ReadyModel, Service
from mlconf.serve.predicting import predict_records
from mlconf.serve.records import RECORDS_SCHEMA
from mlconf.serve.responses import StrictJSONResponse, dumps

router = APIRouter()


@router.post("/predict", openapi_extra=openapi_body(RECORDS_SCHEMA))
async def predict(request: Request, state: Service, loaded: ReadyModel) -> Response:
    """Predictions, class probabilities and a prediction id per record."""
    scored = await predict_records(state, loaded, await read_json(request), request.scope)
    head = {"model_name": loaded.name, "model_version": loaded.version}
    if scored.encoded is None:
        return StrictJSONResponse({**head, "results": scored.results})
    # the results were encoded for the log already: the answer reuses that text
    body = dumps(head)[:-1] + b',"results":[' + ",".join(scored.encoded).encode() + b"]}"
    return Response(body, media_type="application/json")
