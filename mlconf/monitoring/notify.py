"""Send a payload to the notifiers configured in `monitoring.notifiers`.

    notifiers:
      - {name: log}
      - {name: file, path: experiments/alerts.jsonl}
      - {name: webhook, url: https://hooks.example.com/x, timeout: 5, retries: 2}

Each entry names a registered `notifier`; the other keys are its options. A notifier that
fails is recorded in the result (with the reason) and the others still run.
"""

from __future__ import annotations

from typing import Any

from mlconf.config.monitor_loop import DEFAULT_NOTIFIER
from mlconf.core.errors import MlconfError


def send(
    payload: dict[str, Any], notifiers: list[Any] | None, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """Deliver to each notifier (or those named in `only`): [{notifier, ok, result|error}]."""
    from mlconf.core.component_registry import check_params, get

    results = []
    for i, raw in enumerate([DEFAULT_NOTIFIER] if notifiers is None else notifiers):
        entry = {"name": raw} if isinstance(raw, str) else dict(raw)
        name = str(entry.pop("name", ""))
        if only and name not in only:
            continue
        try:
            component = get("notifier", name)
            check_params(component, entry)
            done = component.factory(payload, **entry)
            results.append({"notifier": name, "ok": True, "result": done})
        except MlconfError as exc:
            where = exc.where or f"config key monitoring.notifiers[{i}]"
            error = MlconfError(exc.what, where=where, fix=exc.fix).render()
            results.append({"notifier": name, "ok": False, "error": error})
    return results
