"""Built-in notifiers: where an alert goes. Each is `fn(payload: dict, **options) -> str`.

The payload is a JSON-able dict (rule, model, alerts, decisions, at), sent and written as
strict JSON (a non-finite number becomes null and is listed under `non_finite`, so strict
receivers accept it); the return value says what was done, for the monitoring record. A
notifier that cannot deliver raises MlconfError; the rules engine records the failure and
carries on with the next one, and `mlconf monitor` prints it and writes it down.
"""

from __future__ import annotations

import logging
from typing import Any

from mlconf.core import strict_json
from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text

log = logging.getLogger("mlconf.monitoring")


def _json(payload: dict[str, Any], sort_keys: bool = False) -> str:
    return strict_json.dumps(payload, sort_keys=sort_keys, reasons_key="non_finite")


def _answer(exc: Exception, limit: int = 200) -> str:
    """The start of an HTTP error's body (a receiver's reason for a 4xx), or ''."""
    try:
        text = exc.read(limit).decode("utf-8", "replace") if hasattr(exc, "read") else ""
    except OSError:
        return ""
    text = " ".join(text.split())
    return f" ({mask_text(text)})" if text else ""


@register("notifier", "log")
def log_notifier(payload: dict[str, Any], level: str = "warning") -> str:
    """Write one line per alert to the `mlconf.monitoring` logger."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise MlconfError(f"unknown log level '{level}'", fix="use info, warning or error")
    for alert in payload.get("alerts") or [{"message": payload.get("message", "")}]:
        log.log(numeric, "%s: %s", payload.get("rule", "monitor"), alert.get("message"))
    return f"logged {len(payload.get('alerts') or [1])} line(s)"


@register("notifier", "file")
def file_notifier(payload: dict[str, Any], path: str = "experiments/alerts.jsonl") -> str:
    """Append the payload as one JSON line (O_APPEND: whole lines, never interleaved)."""
    import os
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = (_json(payload, sort_keys=True) + "\n").encode()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return f"appended to {target}"


@register("notifier", "webhook")
def webhook_notifier(
    payload: dict[str, Any],
    url: str = "",
    timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.5,
    headers: dict[str, str] | None = None,
) -> str:
    """POST the payload as JSON; retry on connection errors and 5xx answers."""
    import urllib.error
    import urllib.request

    from mlconf.core.retry import retry_call

    if not url.startswith(("http://", "https://")):
        raise MlconfError(
            f"webhook url {mask_text(url)!r} is not an http(s) URL",
            where="config key monitoring.notifiers[].url",
            fix="set url: https://hooks.example.com/...",
        )
    body = _json(payload).encode()
    attempts = 0

    def post() -> str:
        nonlocal attempts
        attempts += 1
        # S310: the scheme was checked above (http/https only, no file: or custom schemes).
        request = urllib.request.Request(  # noqa: S310
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return f"POST {mask_text(url)} -> {response.status}"

    def passing(exc: BaseException) -> bool:
        # a 4xx: the receiver refused this payload, sending it again won't help
        refused = isinstance(exc, urllib.error.HTTPError) and exc.code < 500
        return isinstance(exc, OSError) and not refused  # URLError and HTTPError are OSErrors

    try:
        return retry_call(post, retry_if=passing, attempts=int(retries) + 1, first_wait=backoff)
    except urllib.error.HTTPError as exc:
        last = f"HTTP {exc.code}{_answer(exc)}"
    except OSError as exc:
        last = str(getattr(exc, "reason", exc))
    raise MlconfError(
        f"webhook {mask_text(url)} failed after {attempts} attempt(s): {last}",
        where="config key monitoring.notifiers",
        fix="check the URL and that the receiver is up; alerts are also in the monitoring record",
    )
