"""Built-in notifiers: where an alert goes. Each is `fn(payload: dict, **options) -> str`.

The payload is a JSON-able dict (rule, model, alerts, decisions, at); the return value
says what was done, for the monitoring record. A notifier that cannot deliver raises
MlconfError; the rules engine records the failure and carries on with the next one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mlconf.errors import MlconfError
from mlconf.registry import register
from mlconf.secrets import mask_text

log = logging.getLogger("mlconf.monitor")


@register("notifier", "log")
def log_notifier(payload: dict[str, Any], level: str = "warning") -> str:
    """Write one line per alert to the `mlconf.monitor` logger."""
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
    line = (json.dumps(payload, default=str, sort_keys=True) + "\n").encode()
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
    import time
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise MlconfError(
            f"webhook url {mask_text(url)!r} is not an http(s) URL",
            where="config key monitoring.notifiers[].url",
            fix="set url: https://hooks.example.com/...",
        )
    body = json.dumps(payload, default=str).encode()
    last = ""
    for attempt in range(int(retries) + 1):
        # S310: the scheme was checked above (http/https only, no file: or custom schemes).
        request = urllib.request.Request(  # noqa: S310
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return f"POST {mask_text(url)} -> {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code < 500:
                break
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt < int(retries):
            time.sleep(backoff * 2**attempt)
    raise MlconfError(
        f"webhook {mask_text(url)} failed after {int(retries) + 1} attempt(s): {last}",
        where="config key monitoring.notifiers",
        fix="check the URL and that the receiver is up; alerts are also in the monitoring record",
    )
