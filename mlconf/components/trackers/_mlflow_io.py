"""What the MLflow tracker reads without MLflow: a server's answer, a SQLite path, trials.csv."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def probe_http(uri: str, timeout: float) -> str | None:
    """Why the MLflow server at `uri` cannot be used, or None when it answers.

    MLflow's own client retries a dead server for minutes; one request with a timeout says
    it before training. Credentials come from MLflow's variables (MLFLOW_TRACKING_TOKEN,
    MLFLOW_TRACKING_USERNAME/PASSWORD) or the URI's user:password.
    """
    import base64
    import urllib.error
    import urllib.request

    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    # S310: the scheme is http or https, checked by the caller.
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
    )
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or parts.username
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or parts.password
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    elif user:
        pair = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        # S310: the scheme is http or https, checked by the caller.
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
            return None
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return (
                f"the server refused the credentials (HTTP {exc.code}); set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
            )
        return f"HTTP {exc.code} from {base}: is it an MLflow tracking server?"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"no answer within {timeout:g}s ({reason})"


def sqlite_folder(uri: str) -> Path:
    """The folder of a sqlite:/// database file (MLflow creates the file, not its folder)."""
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    return Path(path.split("?", 1)[0] or ".").parent


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def trial_rows(
    path: Path,
) -> Iterator[tuple[str, str, dict[str, str], dict[str, float]]]:
    """trials.csv as (number, state, params, metrics): `param_*` columns are the trial's
    parameters (empty ones left out), the objective is the metric `value`."""
    if not path.is_file():
        return
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            params = {
                key.removeprefix("param_"): value
                for key, value in row.items()
                if key.startswith("param_") and value not in ("", None)
            }
            values = {
                key: number
                for key in ("value", "duration_s")
                if (number := _number(row.get(key) or "")) is not None
            }
            yield row.get("number", ""), row.get("state", ""), params, values
