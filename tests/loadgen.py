"""A bounded load test of a real HTTP server on loopback, shared by tests/test_load.py and
benchmarks/load.py (and the load loop of benchmarks/serve.py).

- `drive`: N concurrent httpx clients POST one body until `requests` were sent or
  `max_seconds` passed, whichever comes first; every non-2xx answer and every transport
  error counts as an error.
- `tree_rss_kib`, `tree_cpu_s`: VmRSS and CPU time of a process and its descendants.
- `logged_ids`: the prediction ids in the `predictions` table of a registry database.
- `load_test`: all of it around one server command: start it, warm up, RSS, load, RSS,
  graceful stop (SIGTERM, so the prediction log writer drains), then the log check.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from serve_helpers import record, serve_process

# At most this many error messages are kept (the count covers all of them).
KEEP_ERRORS = 5


@dataclass
class LoadResult:
    """What one `drive` saw: counts, latencies (seconds) and the ids the server returned."""

    sent: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    stopped_by: str = "count"  # or "time"

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < KEEP_ERRORS:
            self.error_samples.append(message)

    def summary(self) -> dict[str, Any]:
        import numpy as np

        ms = np.asarray(self.latencies or [float("nan")]) * 1000
        p50, p90, p95, p99 = (float(v) for v in np.percentile(ms, [50, 90, 95, 99]))
        return {
            "sent": self.sent,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "stopped_by": self.stopped_by,
            "wall_s": round(self.wall_s, 3),
            "throughput_rps": self.sent / self.wall_s if self.wall_s else 0.0,
            "p50_ms": p50,
            "p90_ms": p90,
            "p95_ms": p95,
            "p99_ms": p99,
        }


def prediction_ids(body: Any) -> list[str]:
    """The ids of a `mlconf serve` /predict answer (KeyError/TypeError if there are none)."""
    return [str(result["prediction_id"]) for result in body["results"]]


async def drive(
    url: str,
    body: bytes,
    *,
    requests: int,
    clients: int,
    max_seconds: float,
    ids: Callable[[Any], list[str]] | None = None,
    timeout: float = 30.0,
) -> LoadResult:
    """POST `body` to `url` `requests` times from `clients` concurrent clients, stopping
    early once `max_seconds` have passed; `ids` pulls the ids out of each 2xx JSON answer."""
    import httpx

    result = LoadResult()
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    deadline = started + max_seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        while result.sent < requests:
            if time.perf_counter() >= deadline:
                result.stopped_by = "time"
                return
            result.sent += 1
            t0 = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                result.error(f"{type(exc).__name__}: {exc}")
                continue
            result.latencies.append(time.perf_counter() - t0)
            if not 200 <= response.status_code < 300:
                result.error(f"{response.status_code} {response.text[:300]}")
            elif ids is not None:
                try:
                    result.ids.extend(ids(response.json()))
                except (ValueError, KeyError, TypeError) as exc:
                    result.error(f"2xx without ids ({exc!r}): {response.text[:300]}")

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    result.wall_s = time.perf_counter() - started
    return result


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while we looked
        # field 4 is the parent; the command (field 2) may hold spaces, so split after ')'
        parent = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_kib(pid: int) -> int:
    """VmRSS (KiB) of process `pid` plus all its descendants."""
    total = 0
    for current in _tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` plus its descendants."""
    import os

    total = 0
    for current in _tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def logged_ids(db_url: str) -> set[str]:
    """Every prediction id in the prediction log of the registry database at `db_url`."""
    import sqlalchemy as sa

    from mlconf.store.schema import predictions

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {str(i) for i in conn.execute(sa.select(predictions.c.id)).scalars()}
    finally:
        engine.dispose()


@dataclass
class LoadReport:
    """A whole load test of one server: the load, memory, shutdown and the log check."""

    load: dict[str, Any]
    rss_after_warmup_kib: int
    rss_end_kib: int
    cpu_ms_per_request: float  # the server's CPU time over the timed run, per request sent
    exit_code: int | None
    shutdown_complete: bool  # uvicorn finished its lifespan shutdown (the log writer drained)
    ids_returned: int = 0
    ids_missing: int | None = None  # None: no log to check
    missing_sample: list[str] = field(default_factory=list)
    log_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def rss_growth(self) -> float:
        return self.rss_end_kib / self.rss_after_warmup_kib - 1

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth": self.rss_growth}


def log_counters(metrics_text: str) -> dict[str, float]:
    """mlconf serve's prediction-log counters from its /metrics text."""
    out: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("mlconf_serve_prediction_log_"):
            name, _, value = line.rpartition(" ")
            out[name.removeprefix("mlconf_serve_")] = float(value)
    return out


def record_body(model_dir: Path) -> bytes:
    """A training row of the model as a JSON request body."""
    return json.dumps(record(model_dir)).encode()


def load_test(
    command: list[str],
    port: int,
    cwd: Path,
    body: bytes,
    *,
    requests: int,
    warmup: int,
    clients: int,
    max_seconds: float,
    db_url: str | None = None,
) -> LoadReport:
    """Start `command` (a server listening on `port`), warm it up with `warmup` requests,
    drive `requests` more, stop it gracefully and check the prediction log at `db_url`
    (mlconf serve; None for a server that keeps no log)."""
    import httpx

    ids = prediction_ids if db_url else None
    with serve_process(command, port, cwd) as served:
        predict = f"{served.url}/predict"
        bounds: dict[str, Any] = {"clients": clients, "max_seconds": max_seconds, "ids": ids}
        warm = asyncio.run(drive(predict, body, requests=warmup, **bounds))
        rss_warm, cpu_warm = tree_rss_kib(served.pid), tree_cpu_s(served.pid)
        run = asyncio.run(drive(predict, body, requests=requests, **bounds))
        rss_end, cpu_end = tree_rss_kib(served.pid), tree_cpu_s(served.pid)
        counters = {}
        if db_url:
            counters = log_counters(httpx.get(f"{served.url}/metrics", timeout=30).text)
    report = LoadReport(
        run.summary(),
        rss_warm,
        rss_end,
        (cpu_end - cpu_warm) * 1000 / max(run.sent, 1),
        served.returncode,
        "Application shutdown complete" in served.output,
        log_metrics=counters,
    )
    if warm.errors:
        report.load["warmup_errors"] = warm.errors
    if db_url:
        returned = warm.ids + run.ids
        missing = set(returned) - logged_ids(db_url)
        report.ids_returned = len(returned)
        report.ids_missing = len(missing)
        report.missing_sample = sorted(missing)[:KEEP_ERRORS]
    return report
