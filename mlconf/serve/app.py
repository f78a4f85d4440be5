"""The REST service: FastAPI routes around one loaded model (`mlconf serve`).

Bad requests get a 4xx with a JSON body `{"error": KIND, "message": ..., "detail": [...]}`
naming the field and the rule, never a 500. Requests pass one ASGI middleware that checks
the API key and the declared body size and records metrics; it also reads every body
before any route runs, counting it as it streams in, so a chunked body cannot get past the
size limit on any route (mlconf.serve.body).
"""

import asyncio
import contextlib
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException

from mlconf import strict_json
from mlconf.config import ServeConfig
from mlconf.errors import MlconfError
from mlconf.serve.errors import RequestError, echo
from mlconf.serve.feedback import ID_CHARS, OutcomeRule, outcome_rule
from mlconf.serve.loader import Loaded, change_token, open_ref, registered_schema, registry_engine
from mlconf.serve.metrics import Metrics

log = logging.getLogger("mlconf.serve")

ROUTES = ("/predict", "/explain", "/feedback", "/health", "/ready", "/metrics", "/model")
ADMIN_RELOAD = "/admin/reload"
OPEN_PATHS = frozenset({"/health", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"})
# Up to this many records are scored on the event loop (fast for single records); larger
# requests go to a worker thread so they do not stall other requests.
INLINE_RECORDS = 64


@dataclass
class ServiceState:
    """What the routes share: the current model, settings, metrics, the prediction log."""

    ref: str
    registry_url: str
    settings: ServeConfig
    api_key: str | None = None
    current: Loaded | None = None
    last_error: str | None = "model not loaded yet"
    metrics: Metrics = field(default_factory=Metrics)
    prediction_log: Any = None  # mlconf.store.prediction_log.PredictionLog
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # what outcomes each model version met so far accepts, by (name, version)
    outcome_rules: dict[tuple[str, str], OutcomeRule] = field(default_factory=dict)

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
                raise RequestError(
                    409 if previous else 503,
                    "reload_failed",
                    f"could not load model '{self.ref}'",
                    {
                        "reason": message,
                        "serving": previous.version if previous else None,
                    },
                ) from exc
            rule = outcome_rule(loaded.name, loaded.version, loaded.model.manifest)
            if rule is not None:
                self.outcome_rules[(loaded.name, loaded.version)] = rule
            self.current, self.last_error = loaded, None
            self.metrics.reloaded("swapped")
            log.info(
                "mlconf serve: serving model %s version %s from '%s'",
                loaded.name,
                loaded.version,
                self.ref,
            )
            return {
                "reloaded": True,
                "model_name": loaded.name,
                "model_version": loaded.version,
                "previous_version": previous.version if previous else None,
            }

    def outcome_rule(self, name: str, version: str) -> OutcomeRule | None:
        """The outcome rule of a version this process served, else of the registry's (blocking)."""
        rule = self.outcome_rules.get((name, version))
        if rule is None and version.isdigit():
            schema = registered_schema(self.registry_url, name, int(version))
            rule = outcome_rule(name, version, schema) if schema is not None else None
            if rule is not None:
                self.outcome_rules[(name, version)] = rule
        return rule

    def gauges(self) -> list[tuple[str, str, str, dict[str, str], float]]:
        rows: list[tuple[str, str, str, dict[str, str], float]] = []
        loaded = self.current
        rows.append(
            ("ready", "gauge", "1 when a verified model is loaded.", {}, float(bool(loaded)))
        )
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


# -- body reading and validation -------------------------------------------------------------


async def read_json(request: Request) -> Any:
    """The body (read and size-checked by the middleware) parsed as strict JSON."""
    from mlconf.serve.body import parse_json

    return parse_json(await request.body())


def _records(body: Any, max_records: int) -> list[Any]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        if not body:
            raise RequestError(
                422, "empty", "the list of records is empty", "send at least one record"
            )
        if len(body) > max_records:
            raise RequestError(
                413,
                "too_many_records",
                f"{len(body)} records in one request; at most {max_records} are accepted",
                "split the records over several requests (deploy.serve.max_records)",
            )
        return body
    raise RequestError(
        422,
        "validation",
        "the body must be a JSON object (one record) or an array of objects",
        [{"field": None, "rule": "type", "message": f"got {type(body).__name__}"}],
    )


def validate_records(loaded: Loaded, body: Any, max_records: int) -> list[Any]:
    """Pydantic models for the records; 422 naming each bad field and rule."""
    from pydantic import ValidationError

    from mlconf.serve.schema import text_rule_problems

    records = _records(body, max_records)
    try:
        validated = loaded.adapter.validate_python(records)
    except ValidationError as exc:
        detail = []
        for error in exc.errors(include_url=False)[:50]:
            loc = list(error["loc"])
            index = loc.pop(0) if loc and isinstance(loc[0], int) else None
            item: dict[str, Any] = {
                "record": index,
                "field": ".".join(str(part) for part in loc) or None,
                "rule": error["type"],
                "message": error["msg"],
            }
            if error["type"] not in ("missing", "model_type") and "input" in error:
                item["input"] = echo(error["input"])
            detail.append(item)
        raise RequestError(
            422,
            "validation",
            f"{exc.error_count()} invalid value(s) in the request; see detail",
            detail,
        ) from None
    problems = text_rule_problems(validated, loaded.rules)
    if problems:
        raise RequestError(
            422,
            "validation",
            f"{len(problems)} value(s) break the schema's regex rules; see detail",
            problems,
        )
    return validated


# -- the app ---------------------------------------------------------------------------------


class StrictJSONResponse(JSONResponse):
    """Every answer is strict JSON: a non-finite number becomes null instead of a 500
    (Starlette refuses NaN and Infinity when rendering)."""

    def render(self, content: Any) -> bytes:
        return strict_json.dumps(content, separators=(",", ":")).encode("utf-8")


def create_app(
    ref: str,
    settings: ServeConfig | None = None,
    registry_url: str = "sqlite:///experiments/mlconf.db",
) -> FastAPI:
    """The FastAPI app serving model `ref` (a model folder or a registry ref)."""
    settings = settings or ServeConfig()
    api_key = None
    if settings.api_key_env:
        api_key = os.environ.get(settings.api_key_env)
        if not api_key:
            raise MlconfError(
                f"deploy.serve.api_key_env names '{settings.api_key_env}', "
                "but that environment variable is not set",
                fix=f"export {settings.api_key_env}=<a long random key>, or set "
                "deploy.serve.api_key_env=null to serve without authentication",
            )
    state = ServiceState(ref=ref, registry_url=registry_url, settings=settings, api_key=api_key)

    async def periodic_reload(interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await state.reload(only_if_changed=True)
            except RequestError:
                pass  # logged and counted by reload
            except Exception:
                log.exception("mlconf serve: periodic reload failed")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        if settings.log_predictions:
            from mlconf.store.prediction_log import PredictionLog

            try:
                state.prediction_log = await to_thread.run_sync(
                    lambda: PredictionLog(
                        registry_url, settings.log_queue_size, registry_engine(registry_url)
                    )
                )
            except Exception as exc:
                state.metrics.error("prediction_log_unavailable")
                log.error(
                    "mlconf serve: prediction log at %s unavailable (%s); predictions are "
                    "served but not logged",
                    registry_url,
                    str(exc).splitlines()[0],
                )
        # A refused model is logged; the service starts, /health answers, /ready says why not.
        with contextlib.suppress(RequestError):
            await state.reload(only_if_changed=False)
        task = None
        if settings.reload_interval:
            task = asyncio.create_task(periodic_reload(float(settings.reload_interval)))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            if state.prediction_log is not None:
                await to_thread.run_sync(state.prediction_log.close)

    app = FastAPI(
        default_response_class=StrictJSONResponse,
        title="mlconf model service",
        description="Predictions, explanations and feedback for one registered model.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = state

    def error_response(exc: RequestError) -> JSONResponse:
        state.metrics.error(exc.kind)
        return StrictJSONResponse(exc.payload(), status_code=exc.status)

    @app.exception_handler(RequestError)
    async def _request_error(_request: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        broken = [e for e in exc.errors() if e["type"] == "json_invalid"]
        if broken:  # the same answer as /predict gives a body that is not JSON
            message = broken[0].get("ctx", {}).get("error", broken[0]["msg"])
            return error_response(
                RequestError(400, "malformed_json", f"request body is not valid JSON: {message}")
            )
        detail = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or None,
                "rule": e["type"],
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        return error_response(RequestError(422, "validation", "invalid request", detail))

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI's own refusals (e.g. a form or body it cannot parse) in the same format
        kind = HTTP_KINDS.get(exc.status_code, "http_error")
        return error_response(RequestError(exc.status_code, kind, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("mlconf serve: unexpected error")
        return error_response(
            RequestError(500, "internal", f"internal error: {type(exc).__name__}: {exc}")
        )

    def ready_model() -> Loaded:
        loaded = state.current
        if loaded is None:
            raise RequestError(503, "not_ready", "no verified model is loaded", state.last_error)
        return loaded

    async def run(records: int, fn: Any, *args: Any) -> Any:
        try:
            if records <= INLINE_RECORDS:
                return fn(*args)
            return await to_thread.run_sync(fn, *args)
        except MlconfError as exc:
            raise RequestError(422, "model_input", exc.render()) from exc
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            # the pipeline refused values the request model let through
            raise RequestError(
                422, "model_input", f"the model cannot score these records: {exc}"
            ) from exc

    def score(loaded: Loaded, records: list[Any]) -> tuple[list[Any], Any]:
        from mlconf.serve.schema import to_frame

        return loaded.score(to_frame(records, loaded.rules, loaded.model))

    request_schema = {
        "description": "One record (an object with the model's input columns) or a list of "
        "records. GET /model lists the columns and their rules.",
    }

    @app.post(
        "/predict",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema}},
            }
        },
    )
    async def predict(request: Request) -> dict[str, Any]:
        """Predictions, class probabilities and a prediction id per record."""
        loaded = ready_model()
        body = await read_json(request)
        started = time.perf_counter()
        records = validate_records(loaded, body, settings.max_records)
        predictions, proba = await run(len(records), score, loaded, records)
        latency_ms = (time.perf_counter() - started) * 1000
        ids = [str(uuid.uuid4()) for _ in records]
        results = []
        for i, prediction in enumerate(predictions):
            result: dict[str, Any] = {"prediction_id": ids[i], "prediction": prediction}
            if proba is not None:
                result["probabilities"] = dict(zip(loaded.labels, proba[i], strict=True))
            results.append(result)
        if loaded.model.task == "classification":
            state.metrics.predicted([str(p) for p in predictions])
        else:
            state.metrics.predicted(["value"] * len(predictions))
        if state.prediction_log is not None:
            from mlconf.store.prediction_log import logged_inputs, new_row

            per_record = latency_ms / len(records)
            inputs = logged_inputs(loaded.model, [r.model_dump(by_alias=True) for r in records])
            state.prediction_log.submit(
                [
                    new_row(ids[i], loaded.name, loaded.version, inputs[i], results[i], per_record)
                    for i in range(len(records))
                ]
            )
        return {"model_name": loaded.name, "model_version": loaded.version, "results": results}

    @app.post(
        "/explain",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema}},
            }
        },
    )
    async def explain(request: Request) -> dict[str, Any]:
        """Per-feature contributions to each record's output (mlconf.explain)."""
        import math

        from mlconf import explain as explain_rows
        from mlconf.serve.schema import to_frame

        loaded = ready_model()
        body = await read_json(request)
        records = validate_records(loaded, body, settings.max_records)
        frame = to_frame(records, loaded.rules, loaded.model)
        contributions = await run(len(records) + INLINE_RECORDS, explain_rows, loaded.model, frame)
        rows = []
        for raw in contributions.to_dict(orient="records"):
            rows.append(
                {
                    str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in raw.items()
                }
            )
        return {
            "model_name": loaded.name,
            "model_version": loaded.version,
            "method": contributions.attrs.get("method"),
            "units": contributions.attrs.get("units"),
            "contributions": rows,
        }

    feedback_schema = {
        "type": "object",
        "required": ["prediction_id", "outcome"],
        "properties": {
            "prediction_id": {"type": "string", "minLength": 1, "maxLength": ID_CHARS},
            "outcome": {
                "description": "the true outcome: one of the classes of the model version that "
                "made the prediction (as JSON, case and type as in GET /model), or a finite "
                "number for a regression",
                "not": {"type": "null"},
            },
        },
    }

    @app.post(
        "/feedback",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": feedback_schema}},
            }
        },
    )
    async def feedback(request: Request) -> dict[str, Any]:
        """Store the true outcome of an earlier prediction of this model, checked against the
        model version that made it, for monitoring."""
        from mlconf.serve.feedback import parse

        plog = state.prediction_log
        if plog is None:
            raise RequestError(
                409,
                "feedback_unavailable",
                "the prediction log is off or unavailable, so feedback cannot be stored",
                "set deploy.serve.log_predictions=true and check the registry_url",
            )
        loaded = ready_model()
        prediction_id, outcome = parse(await read_json(request))
        origin = await to_thread.run_sync(plog.origin, prediction_id)
        if origin is None:
            raise RequestError(
                404, "unknown_prediction", f"no prediction with id '{prediction_id}'"
            )
        name, version = origin
        if name != loaded.name:
            raise RequestError(
                409,
                "other_model",
                f"prediction '{prediction_id}' was made by model '{name}', not by '{loaded.name}' "
                "that this service serves",
                f"send its feedback to the service of model '{name}'",
            )
        rule = await to_thread.run_sync(state.outcome_rule, name, version)
        if rule is None:
            raise RequestError(
                409,
                "unknown_model_version",
                f"prediction '{prediction_id}' was made by model '{name}' version {version}, "
                f"which this service neither served nor finds in the registry (it serves "
                f"version {loaded.version}), so the outcome cannot be checked",
                "give this outcome to mlconf monitor in a labels file (performance.labels_file)",
            )
        stored = rule.check(outcome)
        await to_thread.run_sync(plog.add_feedback, prediction_id, stored)
        return {"stored": True, "prediction_id": prediction_id}

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers (open even with an API key)."""
        return {"status": "ok"}

    @app.get("/ready", responses={503: {"description": "no verified model loaded"}})
    async def ready() -> JSONResponse:
        """Readiness: a model is loaded and its sha256 manifest verified."""
        loaded = state.current
        if loaded is None:
            return StrictJSONResponse({"ready": False, "reason": state.last_error}, status_code=503)
        return StrictJSONResponse(
            {"ready": True, "model_name": loaded.name, "model_version": loaded.version}
        )

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus text format."""
        return PlainTextResponse(
            state.metrics.render(state.gauges),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    @app.get("/model")
    async def model_info() -> dict[str, Any]:
        """The model being served: version, input schema, metrics."""
        loaded = ready_model()
        manifest = loaded.model.manifest
        return {
            "model_name": loaded.name,
            "model_version": loaded.version,
            "ref": loaded.ref,
            "sha256": loaded.sha256,
            "loaded_at": loaded.loaded_at,
            "task": loaded.model.task,
            "target": loaded.model.target,
            "classes": list(loaded.model.classes),
            "input_columns": list(loaded.model.input_columns),
            "schema": {rule.column: rule.describe() for rule in loaded.rules},
            "extra_fields": settings.extra_fields,
            "metrics": manifest.get("metrics", {}),
            "passed": manifest.get("passed"),
            "threshold": manifest.get("threshold"),
            "primary_metric": manifest.get("primary_metric"),
        }

    @app.post(ADMIN_RELOAD)
    async def admin_reload() -> dict[str, Any]:
        """Re-read the model ref (e.g. the production alias) and swap models without downtime."""
        return await state.reload(only_if_changed=False)

    from mlconf.serve.guard import Guard

    app.add_middleware(Guard, state=state)
    return app


HTTP_KINDS = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}
