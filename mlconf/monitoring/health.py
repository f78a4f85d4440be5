"""Health: latency, errors, throughput and availability against the SLOs in `monitoring/`.

From the prediction log (every served prediction with its latency): p50/p95/p99 latency,
throughput per minute and the longest silence between predictions. From the server's
`/metrics` text, when a URL is given: requests by status, errors by type (rejected,
unauthorised, too large, ...), whether a verified model is loaded. Each number with an SLO
(`p99_ms`, `error_rate`, `min_throughput`) is checked; a breach is an alert.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mlconf.config.monitor_loop import HealthSettings
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text

if TYPE_CHECKING:
    import pandas as pd

DEFAULTS: dict[str, Any] = asdict(HealthSettings())
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
CLIENT_ERRORS = ("unauthorized", "too_large", "bad_content_length")


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text exposition -> (name, labels, value) per sample line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        labels = dict(LABEL.findall(match.group(2) or ""))
        samples.append((match.group(1), labels, value))
    return samples


def fetch_metrics(url: str, timeout: float) -> str:
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise MlconfError(
            f"metrics url {mask_text(url)!r} is not an http(s) URL",
            where="config key monitoring.health.metrics_url",
            fix="point it at the server's /metrics, e.g. http://127.0.0.1:8000/metrics",
        )
    try:
        # S310: the scheme was checked just above (http/https only, no file: or custom).
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return str(response.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as exc:
        raise MlconfError(
            f"cannot read the server's metrics at {mask_text(url)}: {mask_text(str(exc))}",
            where="config key monitoring.health.metrics_url",
            fix="start `mlconf serve`, or correct the URL (it ends in /metrics), or set it to null",
        ) from exc


def server_counters(text: str) -> dict[str, Any]:
    """Requests, errors by type, rejected and unauthorised requests, readiness."""
    requests = 0.0
    server_errors = 0.0
    client_errors = 0.0
    errors: dict[str, float] = {}
    ready = None
    for name, labels, value in parse_metrics(text):
        if name == "mlconf_serve_requests_total":
            requests += value
            status = int(labels.get("status", "0") or 0)
            if status >= 500:
                server_errors += value
            elif status >= 400:
                client_errors += value
        elif name == "mlconf_serve_errors_total":
            errors[labels.get("type", "?")] = errors.get(labels.get("type", "?"), 0.0) + value
        elif name == "mlconf_serve_ready":
            ready = bool(value)
    return {
        "requests": int(requests),
        "server_errors": int(server_errors),
        "client_errors": int(client_errors),
        "errors_by_type": {k: int(v) for k, v in sorted(errors.items())},
        "unauthorized": int(errors.get("unauthorized", 0)),
        "rejected": int(sum(v for k, v in errors.items() if k != "unauthorized")),
        "error_rate": (server_errors / requests) if requests else None,
        "ready": ready,
    }


def log_health(predictions: pd.DataFrame) -> dict[str, Any]:
    """Latency percentiles, throughput and gaps from logged predictions."""
    import numpy as np

    n = len(predictions)
    if n == 0:
        return {"predictions": 0, "latency_ms": None, "throughput_per_min": None}
    latency = predictions["latency_ms"].to_numpy(dtype=float)
    p50, p95, p99 = (float(x) for x in np.percentile(latency, [50, 95, 99]))
    times = predictions["created_at"].sort_values()
    span = (times.iloc[-1] - times.iloc[0]).total_seconds()
    gaps = times.diff().dt.total_seconds().dropna()
    per_minute = times.dt.floor("min").value_counts().sort_index()
    return {
        "predictions": n,
        "first": times.iloc[0].isoformat(),
        "last": times.iloc[-1].isoformat(),
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99, "max": float(latency.max())},
        # one minute at least, so a burst of a few seconds does not read as a huge rate
        "throughput_per_min": n / max(span / 60.0, 1.0),
        "busiest_minute": int(per_minute.max()),
        "longest_gap_s": float(gaps.max()) if len(gaps) else 0.0,
        "versions": {
            str(k): int(v) for k, v in predictions["model_version"].value_counts().items()
        },
    }


def health(
    predictions: pd.DataFrame,
    settings: dict[str, Any] | None = None,
    metrics_text: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The health section and its alerts (as dicts: kind, level, message, numbers)."""
    conf = {**DEFAULTS, **(settings or {})}
    out: dict[str, Any] = {"log": log_health(predictions), "slo": {}, "server": None}
    text = metrics_text
    if text is None and conf.get("metrics_url"):
        text = fetch_metrics(str(conf["metrics_url"]), float(conf["timeout"]))
    if text is not None:
        out["server"] = server_counters(text)
    alerts: list[dict[str, Any]] = []
    checks: list[tuple[str, float | None, Any, str]] = []
    latency = out["log"].get("latency_ms")
    checks.append(("p99_ms", latency["p99"] if latency else None, conf.get("p99_ms"), "max"))
    error_rate = out["server"]["error_rate"] if out["server"] else None
    checks.append(("error_rate", error_rate, conf.get("error_rate"), "max"))
    checks.append(
        ("min_throughput", out["log"].get("throughput_per_min"), conf.get("min_throughput"), "min")
    )
    for name, value, limit, direction in checks:
        if limit is None or value is None or (isinstance(value, float) and math.isnan(value)):
            out["slo"][name] = {"value": value, "limit": limit, "passed": None}
            continue
        passed = value <= float(limit) if direction == "max" else value >= float(limit)
        out["slo"][name] = {"value": value, "limit": float(limit), "passed": passed}
        if not passed:
            alerts.append(
                {
                    "kind": "health",
                    "level": "alert",
                    "message": f"SLO breached: {name} is {value:.4g}, "
                    f"{'above the maximum' if direction == 'max' else 'below the minimum'} "
                    f"{float(limit):.4g}",
                    "numbers": {"slo": name, "value": value, "limit": float(limit)},
                }
            )
    server = out["server"]
    if server is not None and server["ready"] is False:
        alerts.append(
            {
                "kind": "health",
                "level": "alert",
                "message": "the server answers but has no verified model loaded (not ready)",
                "numbers": {"ready": False},
            }
        )
    return out, alerts
