"""What the routes share: the model being served, the settings, metrics, the prediction log.

One `ServiceState` per app, kept on `app.state.service`; routes reach it through the
dependencies in mlconf.serve.dependencies, so no route closes over it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from mlconf.config import ServeConfig
from mlconf.core.errors import MlconfError
from mlconf.serve.batching import MicroBatcher
from mlconf.serve.errors import RequestError
from mlconf.serve.feedback import OutcomeRule, outcome_rule
from mlconf.serve.loader import Loaded, change_token, open_ref, registered_schema
from mlconf.serve.metrics import Metrics, Sample

log = logging.getLogger("mlconf.serve")


def api_key(settings: ServeConfig) -> str | None:
    """The key `deploy.serve.api_key_env` names; refused up front when that variable is
    unset, so a missing secret never quietly serves without authentication."""
    if not settings.api_key_env:
        return None
    key = os.environ.get(settings.api_key_env)
    if not key:
        raise MlconfError(
            f"deploy.serve.api_key_env names '{settings.api_key_env}', "
            "but that environment variable is not set",
            fix=f"export {settings.api_key_env}=<a long random key>, or set "
            "deploy.serve.api_key_env=null to serve without authentication",
        )
    return key


def make_metrics() -> Metrics:
    """One process's metrics, or every worker's when several serve (mlconf.serve.workers)."""
    from mlconf.serve.fleet import run_folder

    if run_folder() is not None:
        from mlconf.serve.shared_metrics import SharedMetrics

        return SharedMetrics()
    return Metrics()


@dataclass
class ServiceState:
    """What the routes share: the current model, settings, metrics, the prediction log."""

    ref: str
    registry_url: str
    settings: ServeConfig
    api_key: str | None = None
    current: Loaded | None = None
    last_error: str | None = "model not loaded yet"
    metrics: Metrics = field(default_factory=lambda: make_metrics())
    prediction_log: Any = None  # mlconf.store.prediction_log.PredictionLog
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # what outcomes each model version met so far accepts, by (name, version)
    outcome_rules: dict[tuple[str, str], OutcomeRule] = field(default_factory=dict)
    batcher: MicroBatcher = field(init=False)
    announced: str | None = None  # the reload generation this worker announced last

    def __post_init__(self) -> None:
        window = self.settings.batch_window_ms / 1000
        self.batcher = MicroBatcher(window, self.settings.batch_max_records)

    def load(self) -> Loaded:
        """Open and verify the model (blocking); raises MlconfError."""
        return open_ref(self.ref, self.registry_url, self.settings.extra_fields)

    async def reload(self, *, only_if_changed: bool) -> dict[str, Any]:
        """Load the ref again and swap it in; a failure keeps the model being served."""
        async with self.reload_lock:
            previous = self.current
            try:
                if only_if_changed and previous is not None:
                    token = await to_thread.run_sync(change_token, self.ref, self.registry_url)
                    if token == previous.token:
                        return {"reloaded": False, "model_version": previous.version}
                loaded = await to_thread.run_sync(self.load)
            except Exception as exc:
                raise self._refused(exc, previous) from exc
            self._swap(loaded)
            return {
                "reloaded": True,
                "model_name": loaded.name,
                "model_version": loaded.version,
                "previous_version": previous.version if previous else None,
            }

    def _refused(self, exc: Exception, previous: Loaded | None) -> RequestError:
        """Log and count a model that would not load; the error the reload answers with."""
        message = exc.render() if isinstance(exc, MlconfError) else repr(exc)
        self.metrics.reloaded("failed")
        if previous is None:
            self.last_error = message
        log.error(
            "mlconf serve: model '%s' refused: %s%s",
            self.ref,
            message.replace("\n", " "),
            f" (still serving version {previous.version})"
            if previous
            else " (/ready answers 503 until a good model loads)",
        )
        return RequestError(
            409 if previous else 503,
            "reload_failed",
            f"could not load model '{self.ref}'",
            {"reason": message, "serving": previous.version if previous else None},
        )

    def _swap(self, loaded: Loaded) -> None:
        rule = outcome_rule(loaded.name, loaded.version, loaded.model.manifest)
        if rule is not None:
            self.outcome_rules[(loaded.name, loaded.version)] = rule
        self.current, self.last_error = loaded, None
        self.metrics.reloaded("swapped")
        log.info(
            "mlconf serve: serving model %s version %s from '%s'; scorer: %s",
            loaded.name,
            loaded.version,
            self.ref,
            loaded.scorer_note,
        )

    def outcome_rule(self, name: str, version: str) -> OutcomeRule | None:
        """The outcome rule of a version this process served, else of the registry's (blocking)."""
        rule = self.outcome_rules.get((name, version))
        if rule is None and version.isdigit():
            schema = registered_schema(self.registry_url, name, int(version))
            rule = outcome_rule(name, version, schema) if schema is not None else None
            if rule is not None:
                self.outcome_rules[(name, version)] = rule
        return rule

    def gauges(self) -> list[Sample]:
        """The state's own samples for /metrics: readiness, the model, the prediction log."""
        loaded = self.current
        rows: list[Sample] = [
            ("ready", "gauge", "1 when a verified model is loaded.", {}, float(bool(loaded)))
        ]
        if loaded is not None:
            rows.append(
                (
                    "model_info",
                    "gauge",
                    "The model being served.",
                    {"name": loaded.name, "version": loaded.version, "sha256": loaded.sha256},
                    1.0,
                )
            )
        plog = self.prediction_log
        if plog is not None:
            help_text = "Prediction log rows by state (written, dropped: queue full, failed)."
            for state, value in (
                ("written", plog.written),
                ("dropped", plog.dropped),
                ("failed", plog.failed),
            ):
                rows.append(
                    ("prediction_log_rows_total", "counter", help_text, {"state": state}, value)
                )
            rows.append(
                ("prediction_log_queue", "gauge", "Rows waiting to be logged.", {}, plog.pending)
            )
        return rows
