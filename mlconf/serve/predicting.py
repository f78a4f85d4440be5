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

import numpy as np

from mlconf.serve.loader import Loaded
from mlconf.serve.records import Validated, validate_records
from mlconf.serve.responses import dumps_each

if TYPE_CHECKING:
    from mlconf.serve.state import ServiceState


@dataclass(frozen=True)
class Scored:
    """A request's answers: per record a prediction id, the prediction and probabilities."""

    loaded: Loaded
    results: list[dict[str, Any]]
    predictions: list[Any]
    proba: list[list[float]] | None
    # each result as JSON text, when the log needed it: /predict answers with it too
    encoded: list[str] | None = None


async def predict_records(
    state: ServiceState, loaded: Loaded, body: Any, scope: MutableMapping[str, Any]
) -> Scored:
    """Validate, score, count and log the records of `body` (one object or a list)."""
    started = time.perf_counter()
    validated = validate_records(loaded, body, state.settings.max_records)
    predictions, proba = await state.batcher.score(scope, loaded, validated.columns, validated.size)
    latency_ms = (time.perf_counter() - started) * 1000
    ids, inputs = _prepare(state, loaded, validated)
    results = _results(ids, predictions, proba, loaded.labels)
    if loaded.model.task == "classification":
        state.metrics.predicted([str(p) for p in predictions])
    else:
        state.metrics.predicted(["value"] * len(predictions))
    encoded = None
    if inputs is not None:
        encoded = dumps_each(results)
        _log(state, loaded, ids, inputs, encoded, latency_ms)
    return Scored(loaded, results, predictions, proba, encoded)


def _prepare(
    state: ServiceState, loaded: Loaded, validated: Validated
) -> tuple[list[str], list[str] | None]:
    """The records' prediction ids, and their inputs as the log stores them (JSON text, the
    privacy policy applied), or None when nothing is logged."""
    ids = new_ids(validated.size)
    if state.prediction_log is None:
        return ids, None
    from mlconf.ml.privacy.policy import logged_inputs

    records = validated.dicts([rule.column for rule in loaded.rules])
    return ids, dumps_each(logged_inputs(loaded.model, records))


def _results(
    ids: list[str], predictions: list[Any], proba: list[list[float]] | None, labels: list[Any]
) -> list[dict[str, Any]]:
    if proba is None:
        return [
            {"prediction_id": pid, "prediction": prediction}
            for pid, prediction in zip(ids, predictions, strict=True)
        ]
    return [
        {
            "prediction_id": pid,
            "prediction": prediction,
            "probabilities": dict(zip(labels, row, strict=True)),
        }
        for pid, prediction, row in zip(ids, predictions, proba, strict=True)
    ]


def new_ids(n: int) -> list[str]:
    """`n` UUIDs of version 7 (RFC 9562) as text: the millisecond first, then random bits.
    Ids of one moment sort together, so the log's primary-key index grows at its end rather
    than at random places: random (version 4) ids made that index most of the writer's CPU."""
    millisecond = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    if n < _MANY_IDS:  # numpy's fixed cost would outweigh a few ids
        head = f"{millisecond.hex()[:8]}-{millisecond.hex()[8:]}-7"
        hexed = os.urandom(10 * n).hex()
        return [
            f"{head}{hexed[k + 1 : k + 4]}-{_VARIANT[int(hexed[k + 4], 16) & 3]}"
            f"{hexed[k + 5 : k + 8]}-{hexed[k + 8 : k + 20]}"
            for k in range(0, 20 * n, 20)
        ]
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, :6] = np.frombuffer(millisecond, np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70  # version 7
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC's variant: binary 10
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _HEX_COLUMNS] = _HEX_DIGITS[raw].reshape(n, 32)
    joined = text.tobytes().decode("ascii")
    return [joined[k : k + 36] for k in range(0, 36 * n, 36)]


def _hex_digits() -> Any:
    """Each byte's two lowercase hex digits, as ASCII codes (a 256 x 2 table)."""
    return np.frombuffer(bytes(range(256)).hex().encode(), dtype=np.uint8).reshape(256, 2)


_MANY_IDS = 64
_VARIANT = "89ab"  # the RFC's variant (binary 10) and one random bit, as a hex digit
_HEX_DIGITS = _hex_digits()
_HEX_COLUMNS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def _log(
    state: ServiceState,
    loaded: Loaded,
    ids: list[str],
    inputs: list[str],
    outputs: list[str],
    latency_ms: float,
) -> None:
    """Hand the rows to the prediction log's writer thread (never written on this path):
    the rows of mlconf.store.prediction_log.new_row, with what a request's rows share
    (timestamp, model, latency per record) given once."""
    from mlconf.store.prediction_log import LoggedRows

    shared = {
        "created_at": datetime.now(UTC),
        "model_name": loaded.name,
        "model_version": loaded.version,
        "latency_ms": latency_ms / len(ids),
    }
    per_row = {"id": ids, "inputs": inputs, "outputs": outputs}
    state.prediction_log.submit(LoggedRows(shared, per_row))
