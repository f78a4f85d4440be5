"""What every prediction route does with a request's records, whatever its protocol:
validate them, score them (micro-batched), give each a prediction id, count them in the
metrics and hand them to the prediction log."""

from __future__ import annotations

import os
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlconf.serve.loader import Loaded
from mlconf.serve.records import validate_records
from mlconf.serve.responses import dumps

if TYPE_CHECKING:
    from mlconf.serve.state import ServiceState


@dataclass(frozen=True)
class Scored:
    """A request's answers: per record a prediction id, the prediction and probabilities."""

    loaded: Loaded
    results: list[dict[str, Any]]
    predictions: list[Any]
    proba: list[list[float]] | None


async def predict_records(
    state: ServiceState, loaded: Loaded, body: Any, scope: MutableMapping[str, Any]
) -> Scored:
    """Validate, score, count and log the records of `body` (one object or a list)."""
    started = time.perf_counter()
    validated = validate_records(loaded, body, state.settings.max_records)
    predictions, proba = await state.batcher.score(scope, loaded, validated.columns, validated.size)
    latency_ms = (time.perf_counter() - started) * 1000
    results = []
    labels = loaded.labels
    for i, (pid, prediction) in enumerate(zip(new_ids(len(predictions)), predictions, strict=True)):
        result: dict[str, Any] = {"prediction_id": pid, "prediction": prediction}
        if proba is not None:
            result["probabilities"] = dict(zip(labels, proba[i], strict=True))
        results.append(result)
    if loaded.model.task == "classification":
        state.metrics.predicted([str(p) for p in predictions])
    else:
        state.metrics.predicted(["value"] * len(predictions))
    if state.prediction_log is not None:
        names = [rule.column for rule in loaded.rules]
        _log(state, loaded, validated.dicts(names), results, latency_ms)
    return Scored(loaded, results, predictions, proba)


def new_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs as text, as `str(uuid.uuid4())` writes them."""
    raw = os.urandom(16 * n).hex()
    ids = []
    for k in range(0, 32 * n, 32):
        h = raw[k : k + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return ids


def _log(
    state: ServiceState,
    loaded: Loaded,
    records: list[dict[str, Any]],
    results: list[dict[str, Any]],
    latency_ms: float,
) -> None:
    """Hand the rows to the prediction log's writer thread (never written on this path).
    The rows are those of mlconf.store.prediction_log.new_row, one timestamp per request."""
    from mlconf.ml.privacy.policy import logged_inputs

    per_record = latency_ms / len(records)
    inputs = logged_inputs(loaded.model, records)
    now = datetime.now(UTC)
    state.prediction_log.submit(
        [
            {
                "id": result["prediction_id"],
                "created_at": now,
                "model_name": loaded.name,
                "model_version": loaded.version,
                "inputs": dumps(inputs[i]).decode(),
                "outputs": dumps(result).decode(),
                "latency_ms": per_record,
            }
            for i, result in enumerate(results)
        ]
    )
