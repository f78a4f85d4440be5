"""`GET /health` (liveness) and `GET /ready` (readiness), for load balancers and orchestrators."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mlconf.serve.dependencies import Service
from mlconf.serve.responses import StrictJSONResponse

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers (open even with an API key)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "no verified model loaded"}})
async def ready(state: Service) -> JSONResponse:
    """Readiness: a model is loaded and its sha256 manifest verified."""
    loaded = state.current
    if loaded is None:
        return StrictJSONResponse({"ready": False, "reason": state.last_error}, status_code=503)
    return StrictJSONResponse(
        {"ready": True, "model_name": loaded.name, "model_version": loaded.version}
    )
