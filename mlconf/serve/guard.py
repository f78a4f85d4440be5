"""The service's one middleware, in front of every route: the API key, the body size
(declared, and counted as a chunked body streams in), and the request metrics."""

from __future__ import annotations

import hmac
import time
from typing import Any

from mlconf.core import strict_json
from mlconf.serve.body import read_body, replay
from mlconf.serve.errors import RequestError, too_large
from mlconf.serve.metrics import Metrics
from mlconf.serve.paths import OPEN_PATHS, is_scoring, route_name
from mlconf.serve.state import ServiceState

CLIENT_GONE = 499  # the status metrics record when the client left while sending


class Guard:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

    def __init__(self, app: Any, state: ServiceState) -> None:
        self._call = _guard(app, state)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._call(scope, receive, send)


def _guard(app: Any, state: ServiceState) -> Any:
    """Pure ASGI middleware: request metrics around the API key and body checks."""
    limit = state.settings.max_body_bytes

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = route_name(path)
        status_box = [500]
        scoring = scope.get("method") == "POST" and is_scoring(path)
        if scoring:
            state.batcher.enter(scope)

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        try:
            headers = dict(scope["headers"])
            try:
                if state.api_key is not None and path not in OPEN_PATHS:
                    check_key(headers, state.api_key)
                body = await _bounded_body(headers, receive, limit)
            except RequestError as exc:
                await refuse(state.metrics, tracked_send, exc)
                return
            if body is None:  # the client went away while sending
                status_box[0] = CLIENT_GONE
                return
            await app(scope, replay(body, receive), tracked_send)
        finally:
            if scoring:
                state.batcher.leave(scope)
            state.metrics.observe(
                scope.get("method", ""), route, status_box[0], time.perf_counter() - started
            )

    return middleware


def check_key(headers: dict[bytes, bytes], key: str) -> None:
    """401 unless the request carries `key` as X-API-Key or as a bearer token (compared in
    constant time)."""
    given = headers.get(b"x-api-key")
    if given is None:
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
    if given is None or not hmac.compare_digest(given, key.encode()):
        raise RequestError(
            401,
            "unauthorized",
            "missing or wrong API key; send it as the X-API-Key header "
            "or as 'Authorization: Bearer <key>'",
        )


async def _bounded_body(headers: dict[bytes, bytes], receive: Any, limit: int) -> bytes | None:
    """The whole body; 413 when it declares or streams more than `limit` bytes."""
    try:
        declared = int(headers.get(b"content-length", 0))
    except ValueError:
        declared = -1
    if declared < 0:
        raise RequestError(400, "bad_content_length", "the Content-Length header is not a number")
    if declared > limit:
        raise too_large(limit)
    return await read_body(receive, limit)


async def refuse(metrics: Metrics, send: Any, exc: RequestError) -> None:
    """Answer with the error before any route runs (counted under its kind); a 401 says
    how to authenticate."""
    metrics.error(exc.kind)
    challenge = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else []
    payload = strict_json.dumps(exc.payload()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *challenge,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
