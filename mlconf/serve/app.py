"""The REST service: FastAPI routes around one loaded model (`mlconf serve`).

Bad requests get a 4xx with a JSON body `{"error": KIND, "message": ..., "detail": [...]}`
naming the field and the rule, never a 500 (mlconf.serve.handlers). Requests pass one ASGI
middleware that checks the API key and the declared body size and records metrics; it also
reads every body before any route runs, counting it as it streams in, so a chunked body
cannot get past the size limit on any route (mlconf.serve.guard, mlconf.serve.body).
The routes (mlconf.serve.routes) reach the shared state through FastAPI dependencies.
"""

from fastapi import FastAPI

from mlconf.config import ServeConfig
from mlconf.serve.guard import Guard
from mlconf.serve.handlers import install_handlers
from mlconf.serve.lifespan import lifespan
from mlconf.serve.responses import StrictJSONResponse
from mlconf.serve.routes import ROUTERS
from mlconf.serve.state import ServiceState, api_key


def create_app(
    ref: str,
    settings: ServeConfig | None = None,
    registry_url: str = "sqlite:///experiments/mlconf.db",
) -> FastAPI:
    """The FastAPI app serving model `ref` (a model folder or a registry ref)."""
    settings = settings or ServeConfig()
    state = ServiceState(
        ref=ref, registry_url=registry_url, settings=settings, api_key=api_key(settings)
    )
    app = FastAPI(
        default_response_class=StrictJSONResponse,
        title="mlconf model service",
        description="Predictions, explanations and feedback for one registered model.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = state
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(Guard, state=state)
    return app
