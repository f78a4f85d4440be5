"""`GET /metrics`: the service's Prometheus metrics (mlconf.serve.metrics) and gauges."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from mlconf.serve.dependencies import Service

router = APIRouter()


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: Service) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(
        state.metrics.render(state.gauges),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )
