"""Debian's `wrk` as the load generator of benchmarks/serve.py: a C client that costs the
server little CPU. A small Lua script POSTs one JSON body and prints the summary as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

WRK = "/usr/bin/wrk"
LUA = """
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "socket_errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def run_wrk(url: str, body: bytes, connections: int, seconds: float) -> dict[str, Any]:
    """Requests/s, p50/p90/p99 (ms) and errors of `connections` connections for `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        script.write_text(LUA)
        data.write_bytes(body)
        out = subprocess.run(
            [
                WRK,
                "-t1",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            env={**os.environ, "WRK_BODY": str(data)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    return {
        "connections": connections,
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["socket_errors"] + raw["non_2xx"],
    }
