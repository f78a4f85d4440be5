"""Request bodies: read whole but bounded on every route, then parsed as strict JSON.

The service's middleware reads each body before any route runs, counting bytes as a
chunked body streams in, so no route can be made to hold more than `max_body_bytes`.
Parsing refuses what Python's `json` would let through or choke on: NaN and Infinity (not
JSON), nesting deeper than the parser's recursion limit, and lone UTF-16 surrogates
(`"\\udfff"`), which are not text and cannot be encoded, logged or echoed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mlconf.serve.errors import RequestError, too_large

if TYPE_CHECKING:
    from starlette.requests import Request

Receive = Callable[[], Awaitable[dict[str, Any]]]
# An escaped UTF-16 surrogate; pairs are fine (json joins them), lone ones are not text.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
# An integer literal orjson would read as a float (more than 64 bits): json reads it exactly.
# Found by mapping digits to "9" and every other byte to " " (C speed, unlike a regex).
_DIGITS_ONLY = bytes(ord("9") if chr(i).isdigit() and i < 128 else ord(" ") for i in range(256))
_LONG_NUMBER = b"9" * 19
_NOT_BRACES = bytes(i for i in range(256) if i not in b"{}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
# Nesting up to this depth is read alike by orjson and json (json's limit is the recursion
# limit, about 1000; orjson's 1024); deeper bodies go to json, which says "too_deep".
SAFE_DEPTH = 500


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when the client went away first; 413 past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body read already, then the client's messages."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def openapi_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A route's OpenAPI request body: routes read their JSON themselves (strictly, see
    parse_json), so FastAPI cannot describe the body from a parameter."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def read_json(request: Request) -> Any:
    """The body (read and size-checked by the middleware) parsed as strict JSON."""
    return parse_json(await request.body())


def _reject_constant(name: str) -> Any:
    raise RequestError(
        400,
        "invalid_number",
        f"{name} is not valid JSON",
        "NaN, Infinity and -Infinity are not JSON numbers; send null for a missing value",
    )


def parse_json(body: bytes) -> Any:
    """`body` as JSON; 400 naming what is wrong (and where) otherwise.

    orjson reads what it can read exactly as `json` would; everything else (errors, NaN,
    lone surrogates, integers beyond 64 bits) goes through `json`, whose answers the
    service has always given.
    """
    import orjson

    try:
        if _LONG_NUMBER not in body.translate(_DIGITS_ONLY) and _shallow(body):
            return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    return _parse_slowly(body)


def _shallow(body: bytes) -> bool:
    """True when `body` nests arrays and objects at most SAFE_DEPTH deep."""
    if body.count(b"[") + body.count(b"{") <= SAFE_DEPTH:
        return True
    if body.count(b"[") < SAFE_DEPTH // 2 and b"{{" not in body.translate(None, _NOT_BRACES):
        return True  # objects never inside objects: depth <= arrays + 1
    import numpy as np

    bare = np.frombuffer(_STRING.sub(b"", body), dtype=np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(bare, (ord("]"), ord("}")))
    return bool(np.cumsum(steps).max(initial=0) <= SAFE_DEPTH)


def _parse_slowly(body: bytes) -> Any:
    if not body.strip():
        raise RequestError(400, "malformed_json", "request body is empty", "send a JSON body")
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(400, "malformed_json", f"request body is not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise RequestError(
            400,
            "invalid_number",
            f"request body holds a number too long to read: {str(exc).split(';')[0]}",
            "send numbers with at most 4300 digits",
        ) from None
    except RecursionError:
        raise RequestError(
            400,
            "too_deep",
            "request body nests arrays or objects too deeply to parse",
            "a record is one flat JSON object of column values",
        ) from None
    if _SURROGATE_ESCAPE.search(body):
        _refuse_surrogates(value)
    return value


def _refuse_surrogates(value: Any) -> None:
    """400 naming the first string (or key) that holds a lone surrogate."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{_printable(key)}" if path else _printable(key)
                if not _is_text(key):
                    _surrogate_error(where, "key")
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif isinstance(item, str) and not _is_text(item):
            _surrogate_error(path or "the body", "value")


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:100]


def _surrogate_error(where: str, what: str) -> None:
    raise RequestError(
        400,
        "invalid_unicode",
        f"the {what} at {where} holds a lone UTF-16 surrogate (an escape such as \\udfff "
        "without its pair), which is not text",
        [
            {
                "field": where,
                "rule": "unicode",
                "message": "send text as UTF-8 or with complete surrogate pairs",
            }
        ],
    )
