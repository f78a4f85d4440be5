"""Every refusal in one format: `{"error": KIND, "message": ..., "detail": ...}`, counted.

FastAPI's own refusals (a request it cannot parse, an unknown path, an unexpected
exception) are turned into RequestErrors, so a client reads every error the same way.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mlconf.serve.dependencies import state_of
from mlconf.serve.errors import RequestError
from mlconf.serve.responses import StrictJSONResponse

log = logging.getLogger("mlconf.serve")

HTTP_KINDS = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestError, request_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)


async def request_error(request: Request, exc: RequestError) -> JSONResponse:
    state_of(request).metrics.error(exc.kind)
    return StrictJSONResponse(exc.payload(), status_code=exc.status)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    broken = [e for e in exc.errors() if e["type"] == "json_invalid"]
    if broken:  # the same answer as /predict gives a body that is not JSON
        message = broken[0].get("ctx", {}).get("error", broken[0]["msg"])
        return await request_error(
            request,
            RequestError(400, "malformed_json", f"request body is not valid JSON: {message}"),
        )
    detail = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p != "body") or None,
            "rule": e["type"],
            "message": e["msg"],
        }
        for e in exc.errors()
    ]
    return await request_error(request, RequestError(422, "validation", "invalid request", detail))


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    kind = HTTP_KINDS.get(exc.status_code, "http_error")
    return await request_error(request, RequestError(exc.status_code, kind, str(exc.detail)))


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("mlconf serve: unexpected error")
    return await request_error(
        request, RequestError(500, "internal", f"internal error: {type(exc).__name__}: {exc}")
    )
