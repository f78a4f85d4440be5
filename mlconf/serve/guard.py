"""The service's one middleware, in front of every route: the API key, the body size
(declared, and counted as a chunked body streams in), and the request metrics."""

from __future__ import annotations

import hmac
import time
from typing import Any

from mlconf import strict_json
from mlconf.serve.app import ADMIN_RELOAD, OPEN_PATHS, ROUTES, ServiceState
from mlconf.serve.errors import RequestError, too_large


class Guard:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

    def __init__(self, app: Any, state: ServiceState) -> None:
        self._call = _guard(app, state)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._call(scope, receive, send)


def _guard(app: Any, state: ServiceState) -> Any:
    """Pure ASGI middleware: API key, body size (declared, and counted as it streams in, on
    every route), request metrics."""
    from mlconf.serve.body import read_body, replay

    known = frozenset((*ROUTES, ADMIN_RELOAD))
    limit = state.settings.max_body_bytes

    async def refuse(send: Any, exc: RequestError, headers: list[Any] | None = None) -> None:
        """Answer with the error before any route runs (counted under its kind)."""
        state.metrics.error(exc.kind)
        payload = strict_json.dumps(exc.payload()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": exc.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    *(headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def authorized(headers: dict[bytes, bytes]) -> bool:
        key = state.api_key
        if key is None:  # fail closed: never let a request in because the key went missing
            return False
        given = headers.get(b"x-api-key")
        if given is None:
            auth = headers.get(b"authorization", b"")
            if auth[:7].lower() == b"bearer ":
                given = auth[7:].strip()
        return given is not None and hmac.compare_digest(given, key.encode())

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in known else "other"
        status_box = [500]

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        try:
            headers = dict(scope["headers"])
            if state.api_key is not None and path not in OPEN_PATHS and not authorized(headers):
                await refuse(
                    tracked_send,
                    RequestError(
                        401,
                        "unauthorized",
                        "missing or wrong API key; send it as the X-API-Key header "
                        "or as 'Authorization: Bearer <key>'",
                    ),
                    [(b"www-authenticate", b"Bearer")],
                )
                return
            try:
                declared = int(headers.get(b"content-length", 0))
            except ValueError:
                declared = -1
            try:
                if declared < 0:
                    raise RequestError(
                        400, "bad_content_length", "the Content-Length header is not a number"
                    )
                if declared > limit:
                    raise too_large(limit)
                body = await read_body(receive, limit)
            except RequestError as exc:
                await refuse(tracked_send, exc)
                return
            if body is None:  # the client went away while sending
                status_box[0] = 499
                return
            await app(scope, replay(body, receive), tracked_send)
        finally:
            state.metrics.observe(
                scope.get("method", ""), route, status_box[0], time.perf_counter() - started
            )

    return middleware
