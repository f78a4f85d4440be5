"""How routes reach the shared state: FastAPI dependencies over `app.state.service`.

They are `async def` on purpose: FastAPI runs a plain `def` dependency on a worker thread,
a hop that would cost every request on the scoring path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from mlconf.serve.errors import RequestError
from mlconf.serve.loader import Loaded
from mlconf.serve.state import ServiceState


def state_of(request: Request) -> ServiceState:
    """The app's state; also for the exception handlers, which get no dependencies."""
    state: ServiceState = request.app.state.service
    return state


async def service(request: Request) -> ServiceState:
    return state_of(request)


Service = Annotated[ServiceState, Depends(service)]


async def ready_model(state: Service) -> Loaded:
    """The model being served; 503 saying why when none is loaded yet."""
    loaded = state.current
    if loaded is None:
        raise RequestError(503, "not_ready", "no verified model is loaded", state.last_error)
    return loaded


async def prediction_log(state: Service) -> Any:
    """The prediction log; 409 when it is off or could not be opened."""
    if state.prediction_log is None:
        raise RequestError(
            409,
            "feedback_unavailable",
            "the prediction log is off or unavailable, so feedback cannot be stored",
            "set deploy.serve.log_predictions=true and check the registry_url",
        )
    return state.prediction_log


ReadyModel = Annotated[Loaded, Depends(ready_model)]
PredictionLog = Annotated[Any, Depends(prediction_log)]
