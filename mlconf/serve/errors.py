"""Client errors of the service: one exception type, rendered as `{error, message, detail}`.

Echoed inputs are cut short: an error never repeats a whole oversized value back.
"""

from __future__ import annotations

import math
from typing import Any

ECHO_CHARS = 200


class RequestError(Exception):
    """A client error: rendered as JSON with the status, counted under `kind`."""

    def __init__(self, status: int, kind: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.detail = status, kind, message, detail

    def payload(self) -> dict[str, Any]:
        """The JSON body: {error, message} and `detail` when there is one."""
        body: dict[str, Any] = {"error": self.kind, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def echo(value: Any) -> Any:
    """The offending input as JSON can carry it, cut to ECHO_CHARS (1e999 becomes 'inf')."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) > ECHO_CHARS:
        return shorten(str(value))
    if value is None or isinstance(value, int | float | bool):
        return value
    return shorten(repr(value))


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` cut to `limit` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def too_large(limit: int) -> RequestError:
    return RequestError(
        413,
        "too_large",
        f"request body is larger than {limit} bytes",
        "send fewer records per request (deploy.serve.max_body_bytes)",
    )
