"""The service's metrics when several worker processes serve (`workers > 1`): the same
counters and histogram as mlconf.serve.metrics.Metrics, kept by prometheus-client in its
multiprocess mode (files in PROMETHEUS_MULTIPROC_DIR), so `/metrics` on any worker adds up
every worker's requests, errors, predictions and reloads. The state's own gauges (ready,
model, prediction log) are those of the worker that answers, labelled with its pid.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from mlconf.serve.metrics import BUCKETS, PREFIX, Metrics, Sample, _labels


class SharedMetrics(Metrics):
    """Metrics' interface over prometheus-client multiprocess counters."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self._requests = Counter(
            f"{PREFIX}_requests", "HTTP requests by method, route, status.",
            ["method", "route", "status"], registry=None,
        )  # fmt: skip
        self._latency = Histogram(
            f"{PREFIX}_request_duration_seconds", "Request latency by route, seconds.",
            ["route"], buckets=BUCKETS, registry=None,
        )  # fmt: skip
        # registry=None: the values go to the multiprocess files; nothing global is touched
        self._errors = Counter(f"{PREFIX}_errors", "Errors by type.", ["type"], registry=None)
        self._predictions = Counter(
            f"{PREFIX}_predictions", "Predicted records by predicted class.", ["prediction"],
            registry=None,
        )  # fmt: skip
        self._reloads = Counter(
            f"{PREFIX}_reloads", "Model reloads by outcome.", ["outcome"], registry=None
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(route).observe(seconds)

    def error(self, kind: str) -> None:
        self._errors.labels(kind).inc()

    def predicted(self, labels: list[str]) -> None:
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        for label, n in counts.items():
            self._predictions.labels(label).inc(n)

    def reloaded(self, outcome: str) -> None:
        self._reloads.labels(outcome).inc()

    def render(self, gauges: Callable[[], list[Sample]]) -> str:
        """Every worker's counters, then this worker's gauges (with a `worker` label)."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        lines = [generate_latest(registry).decode().rstrip("\n")]
        seen: set[str] = set()
        pid = str(os.getpid())
        for name, kind, help_text, labels, value in gauges():
            full = f"{PREFIX}_{name}"
            if name not in seen:
                seen.add(name)
                lines += [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}"]
            lines.append(f"{full}{_labels(**labels, worker=pid)} {value:g}")
        return "\n".join(lines) + "\n"
