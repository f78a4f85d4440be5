"""Prometheus metrics of the service, kept in plain dicts and written in the text format.

No client library: a handful of counters and one histogram, guarded by a lock, rendered on
`GET /metrics` (https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

# (name, type, help, labels, value) of a gauge or counter kept elsewhere
Sample = tuple[str, str, str, dict[str, str], float]

# Latency buckets in seconds: 1 ms .. 5 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PREFIX = "mlconf_serve"


def _labels(**labels: str) -> str:
    def esc(value: str) -> str:
        return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


class Metrics:
    """Counters by label tuple and a latency histogram per route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.predictions: dict[str, int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self.reloads: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            buckets = self._buckets.setdefault(route, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
                    break
            self._sums[route] += seconds
            self._counts[route] += 1

    def error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def predicted(self, labels: list[str]) -> None:
        with self._lock:
            for label in labels:
                self.predictions[label] += 1

    def reloaded(self, outcome: str) -> None:
        with self._lock:
            self.reloads[outcome] += 1

    def render(
        self, gauges: Callable[[], list[tuple[str, str, str, dict[str, str], float]]]
    ) -> str:
        """The exposition text; `gauges` adds (name, type, help, labels, value) rows."""
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> str:
            full = f"{PREFIX}_{name}"
            lines.append(f"# HELP {full} {help_text}")
            lines.append(f"# TYPE {full} {kind}")
            return full

        with self._lock:
            name = family("requests_total", "counter", "HTTP requests by method, route, status.")
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(f"{name}{_labels(method=method, route=route, status=str(status))} {n}")
            name = family(
                "request_duration_seconds", "histogram", "Request latency by route, seconds."
            )
            for route, buckets in sorted(self._buckets.items()):
                running = 0
                for bound, n in zip(BUCKETS, buckets, strict=True):
                    running += n
                    lines.append(f"{name}_bucket{_labels(route=route, le=str(bound))} {running}")
                count = self._counts[route]
                lines.append(f"{name}_bucket{_labels(route=route, le='+Inf')} {count}")
                lines.append(f"{name}_sum{_labels(route=route)} {self._sums[route]:.6f}")
                lines.append(f"{name}_count{_labels(route=route)} {count}")
            name = family("errors_total", "counter", "Errors by type.")
            for kind, n in sorted(self.errors.items()):
                lines.append(f"{name}{_labels(type=kind)} {n}")
            name = family("predictions_total", "counter", "Predicted records by predicted class.")
            for label, n in sorted(self.predictions.items()):
                lines.append(f"{name}{_labels(prediction=label)} {n}")
            name = family("reloads_total", "counter", "Model reloads by outcome.")
            for outcome, n in sorted(self.reloads.items()):
                lines.append(f"{name}{_labels(outcome=outcome)} {n}")
        seen: set[str] = set()
        for gname, kind, help_text, labels, value in gauges():
            if gname not in seen:
                seen.add(gname)
                full = family(gname, kind, help_text)
            else:
                full = f"{PREFIX}_{gname}"
            lines.append(f"{full}{_labels(**labels) if labels else ''} {value:g}")
        return "\n".join(lines) + "\n"
