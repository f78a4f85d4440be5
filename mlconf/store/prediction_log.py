"""The prediction log: every served prediction and its later outcome, in the registry database.

Two tables beside the model registry's (defined in mlconf.store.schema): `predictions` (id,
created_at, model name and version, inputs and outputs as JSON, latency) and
`prediction_feedback` (the true outcome for a prediction id). The service never writes on
the request path: `PredictionLog.submit` puts a row on a bounded queue that a background
thread writes in batches. A full queue or a failed write is counted and logged (and shown
on /metrics), never raised to the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlconf.core import strict_json

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("mlconf.serve.prediction_log")

_BATCH = 500
_RECENT_IDS = 100_000


class PredictionLog:
    """A bounded queue in front of a writer thread; counters for what could not be written."""

    def __init__(self, url: str, queue_size: int = 10_000, engine: sa.Engine | None = None):
        from mlconf.store.migrate import open_engine

        self.url = url
        self.engine = engine if engine is not None else open_engine(url)
        from mlconf.store.schema import prediction_feedback, predictions

        self.predictions, self.feedback = predictions, prediction_feedback
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max(1, queue_size))
        self._lock = threading.Lock()
        # ids handed out but maybe not yet written, so feedback right after a prediction works;
        # each with the model name and version that made it
        self._recent: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.queued = 0
        self.written = 0
        self.dropped = 0  # queue full
        self.failed = 0  # rows whose write failed
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    # -- request path: never blocks, never raises ----------------------------------------
    def submit(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            with self._lock:
                self._recent[row["id"]] = (row["model_name"], row["model_version"])
                if len(self._recent) > _RECENT_IDS:
                    self._recent.popitem(last=False)
                self.queued += 1
            try:
                self._queue.put_nowait(row)
            except queue.Full:
                with self._lock:
                    self.queued -= 1
                    self.dropped += 1
                    dropped = self.dropped
                if dropped == 1 or dropped % 1000 == 0:
                    log.warning(
                        "prediction log queue is full (%d rows waiting): %d prediction(s) not "
                        "logged so far; the database is slower than the traffic",
                        self._queue.qsize(),
                        dropped,
                    )

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # -- feedback -------------------------------------------------------------------------
    def known(self, prediction_id: str) -> bool:
        return self.origin(prediction_id) is not None

    def origin(self, prediction_id: str) -> tuple[str, str] | None:
        """(model name, model version) that made the prediction, or None for an unknown id."""
        import sqlalchemy as sa

        with self._lock:
            found = self._recent.get(prediction_id)
        if found is not None:
            return found
        table = self.predictions
        with self.engine.connect() as conn:
            query = sa.select(table.c.model_name, table.c.model_version).where(
                table.c.id == prediction_id
            )
            row = conn.execute(query).first()
        return (str(row.model_name), str(row.model_version)) if row is not None else None

    def add_feedback(self, prediction_id: str, outcome: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                self.feedback.insert().values(
                    prediction_id=prediction_id,
                    outcome=strict_json.dumps(outcome),
                    created_at=datetime.now(UTC),
                )
            )

    # -- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(self.predictions.insert(), batch)
        except Exception as exc:  # logged and counted: logging must never fail a prediction
            with self._lock:
                self.failed += len(batch)
                failed = self.failed
            log.error(
                "prediction log: could not write %d row(s) to %s (%s: %s); %d lost so far",
                len(batch),
                self.url,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                failed,
            )
        else:
            with self._lock:
                self.written += len(batch)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row was written or counted as failed (tests, shutdown)."""
        from mlconf.core.retry import wait_until

        def drained() -> bool:
            with self._lock:
                return self.written + self.failed >= self.queued

        return wait_until(drained, timeout=timeout, interval=0.01)

    def close(self, timeout: float = 10.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.error("prediction log: queue still full at shutdown; %d rows lost", self.pending)
        self._thread.join(timeout)
        if self._thread.is_alive():  # the process exits soon: say what the writer had left
            with self._lock:
                left = self.queued - self.written - self.failed
            log.error(
                "prediction log: writer still busy after %.0f s at shutdown; %d row(s) not written",
                timeout,
                left,
            )
            return
        self.engine.dispose()


def new_row(
    prediction_id: str,
    model_name: str,
    model_version: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    latency_ms: float,
) -> dict[str, Any]:
    return {
        "id": prediction_id,
        "created_at": datetime.now(UTC),
        "model_name": model_name,
        "model_version": model_version,
        "inputs": strict_json.dumps(inputs),
        "outputs": strict_json.dumps(outputs),
        "latency_ms": latency_ms,
    }
