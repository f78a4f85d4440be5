"""`POST /explain`: per-feature contributions to each record's output (mlconf.explain)."""

import math
from typing import Any

from fastapi import APIRouter, Request

from mlconf.serve.body import openapi_body, read_json
from mlconf.serve.dependencies import ReadyModel, Service
from mlconf.serve.records import RECORDS_SCHEMA, validate_records
from mlconf.serve.scoring import INLINE_RECORDS, run_model

router = APIRouter()


@router.post("/explain", openapi_extra=openapi_body(RECORDS_SCHEMA))
async def explain(request: Request, state: Service, loaded: ReadyModel) -> dict[str, Any]:
    """Per-feature contributions to each record's output (mlconf.explain)."""
    from mlconf.ml.interpret.contributions import explain_model as explain_rows
    from mlconf.serve.schema import columns_frame

    body = await read_json(request)
    records = validate_records(loaded, body, state.settings.max_records)
    frame = columns_frame(records.columns, loaded.rules, loaded.model)
    # always on a worker thread: explaining costs far more than scoring
    contributions = await run_model(
        records.size + INLINE_RECORDS, explain_rows, loaded.model, frame
    )
    rows = [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in raw.items()
        }
        for raw in contributions.to_dict(orient="records")
    ]
    return {
        "model_name": loaded.name,
        "model_version": loaded.version,
        "method": contributions.attrs.get("method"),
        "units": contributions.attrs.get("units"),
        "contributions": rows,
    }
