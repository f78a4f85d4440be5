"""The prediction log: every served prediction and its later outcome, in the registry database.

Two tables beside the model registry's (defined in mlconf.store.schema): `predictions` (id,
created_at, model name and version, inputs and outputs as JSON, latency) and
`prediction_feedback` (the true outcome for a prediction id). The service never writes on
the request path: `PredictionLog.submit` puts a request's rows on a bounded queue that a
background thread writes in batches. A full queue or a failed write is counted and logged (and shown
on /metrics), never raised to the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any

from mlconf.core import strict_json

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("mlconf.serve.prediction_log")

# Rows per transaction: a commit (an fsync on SQLite) per few thousand rows, not per request.
_BATCH = 5_000
# The writer waits up to this long for this many rows before a transaction.
_GATHER_S = 0.02
_GATHER_ROWS = 1_000
_RECENT_IDS = 100_000
_COLUMNS = ("id", "created_at", "model_name", "model_version", "inputs", "outputs", "latency_ms")


@dataclass(frozen=True)
class LoggedRows:
    """Rows for the log column by column: `shared` holds what every row has in common (a
    request's timestamp, model and latency), `per_row` a list per column (id, inputs,
    outputs). A request's rows then reach the driver through one zip instead of a dict each,
    and the GIL the event loop needs is held for less."""

    shared: dict[str, Any]
    per_row: dict[str, list[Any]]

    def __post_init__(self) -> None:
        lengths = {len(values) for values in self.per_row.values()}
        if set(self.shared) | set(self.per_row) != set(_COLUMNS) or len(lengths) > 1:
            raise ValueError(f"logged rows need the columns {_COLUMNS}, lists of one length")

    @classmethod
    def of_dicts(cls, rows: list[dict[str, Any]]) -> LoggedRows:
        """Rows given one dict each (as `new_row` makes them)."""
        return cls({}, {name: [row[name] for row in rows] for name in _COLUMNS})

    def __len__(self) -> int:
        return len(self.per_row["id"]) if "id" in self.per_row else 0

    def column(self, name: str) -> Iterable[Any]:
        """Every row's value of `name`, shared or not."""
        if name in self.shared:
            return repeat(self.shared[name], len(self))
        return self.per_row[name]

    def origins(self) -> Iterable[tuple[str, str]]:
        """Every row's (model name, model version)."""
        if "model_name" in self.shared and "model_version" in self.shared:
            return repeat((self.shared["model_name"], self.shared["model_version"]), len(self))
        return zip(self.column("model_name"), self.column("model_version"), strict=True)

    def head(self, n: int) -> LoggedRows:
        return LoggedRows(self.shared, {k: v[:n] for k, v in self.per_row.items()})


class PredictionLog:
    """A bounded queue of requests' rows in front of a writer thread; counters for what could
    not be written.

    A request hands over its rows as one list (one lock, one wake-up), and the writer sends
    each batch to the driver's executemany with the values already in the driver's form:
    per-row work in Python would hold the GIL that the event loop serving requests needs.
    """

    def __init__(self, url: str, queue_size: int = 10_000, engine: sa.Engine | None = None):
        from mlconf.store.migrate import open_engine

        self.url = url
        self.engine = engine if engine is not None else open_engine(url)
        from mlconf.store.schema import prediction_feedback, predictions

        self.predictions, self.feedback = predictions, prediction_feedback
        self._insert = _DriverInsert(self.engine, predictions)
        self._capacity = max(1, queue_size)
        self._waiting: deque[LoggedRows] = deque()
        self._waiting_rows = 0
        self._stopping = False
        self._gathering = False  # the writer is waiting for more rows (see _gather)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        # ids handed out but maybe not yet written, so feedback right after a prediction works;
        # each with the model name and version that made it. Two generations of plain dicts
        # (the newest _RECENT_IDS to twice that many ids): one C-level update per request.
        self._recent: dict[str, tuple[str, str]] = {}
        self._older: dict[str, tuple[str, str]] = {}
        self.queued = 0
        self.written = 0
        self.dropped = 0  # queue full
        self.failed = 0  # rows whose write failed
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    # -- request path: never blocks, never raises ----------------------------------------
    def submit(self, rows: LoggedRows | list[dict[str, Any]]) -> None:
        """Queue `rows` (as many as the queue has room for; the rest are counted as dropped)."""
        if isinstance(rows, list):
            rows = LoggedRows.of_dicts(rows)
        with self._lock:
            room = self._capacity - self._waiting_rows
            taken = rows if len(rows) <= room else rows.head(max(room, 0))
            self._recent.update(zip(taken.column("id"), taken.origins(), strict=True))
            if len(self._recent) >= _RECENT_IDS:
                self._older, self._recent = self._recent, {}
            if taken:
                self._waiting.append(taken)
                self._waiting_rows += len(taken)
                self.queued += len(taken)
                if not self._gathering or self._waiting_rows >= _GATHER_ROWS:
                    self._ready.notify()
            lost = len(rows) - len(taken)
            before = self.dropped
            self.dropped += lost
            waiting = self._waiting_rows
        if lost and (before == 0 or before // 1000 != self.dropped // 1000):
            log.warning(
                "prediction log queue is full (%d rows waiting): %d prediction(s) not "
                "logged so far; the database is slower than the traffic",
                waiting,
                before + lost,
            )

    @property
    def pending(self) -> int:
        with self._lock:
            return self._waiting_rows

    # -- feedback -------------------------------------------------------------------------
    def known(self, prediction_id: str) -> bool:
        return self.origin(prediction_id) is not None

    def origin(self, prediction_id: str) -> tuple[str, str] | None:
        """(model name, model version) that made the prediction, or None for an unknown id."""
        import sqlalchemy as sa

        with self._lock:
            found = self._recent.get(prediction_id) or self._older.get(prediction_id)
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
            with self._ready:
                while not self._waiting and not self._stopping:
                    self._ready.wait()
                if not self._waiting:  # stopping, and everything queued was taken
                    return
                self._gather()
                batch: list[LoggedRows] = []
                size = 0
                while self._waiting and size < _BATCH:
                    batch.append(self._waiting.popleft())
                    size += len(batch[-1])
                self._waiting_rows -= size
            self._write(batch)

    def _gather(self) -> None:
        """Wait a moment for more rows before writing (called holding the lock): a few
        transactions of many rows each, instead of one commit per request, cost the
        service's threads far less CPU and GIL under steady traffic."""
        self._gathering = True
        deadline = time.monotonic() + _GATHER_S
        while self._waiting_rows < _GATHER_ROWS and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._ready.wait(left)
        self._gathering = False

    def _write(self, batch: list[LoggedRows]) -> None:
        size = sum(map(len, batch))
        try:
            self._insert.write(batch)
        except Exception as exc:  # logged and counted: logging must never fail a prediction
            with self._lock:
                self.failed += size
                failed = self.failed
            log.error(
                "prediction log: could not write %d row(s) to %s (%s: %s); %d lost so far",
                size,
                self.url,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                failed,
            )
        else:
            with self._lock:
                self.written += size

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row was written or counted as failed (tests, shutdown)."""
        from mlconf.core.retry import wait_until

        def drained() -> bool:
            with self._lock:
                return self.written + self.failed >= self.queued

        return wait_until(drained, timeout=timeout, interval=0.01)

    def close(self, timeout: float = 10.0) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
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


class _DriverInsert:
    """The INSERT of prediction rows, compiled once for the engine's dialect, fed to the
    driver's executemany with each column's bind processing done in the driver's terms
    (a value the rows share, such as a request's timestamp, converted once)."""

    def __init__(self, engine: sa.Engine, table: sa.Table) -> None:
        self.engine = engine
        compiled = table.insert().compile(dialect=engine.dialect, column_keys=list(_COLUMNS))
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.order = tuple(compiled.positiontup or _COLUMNS)
        self.processors = {
            name: processor
            for name in _COLUMNS
            if (processor := _bind_processor(table.c[name].type, engine.dialect)) is not None
        }

    def write(self, batch: list[LoggedRows]) -> None:
        params: list[Any] = []
        for rows in batch:
            tuples = zip(*(self._column(rows, name) for name in self.order), strict=True)
            if self.positional:
                params.extend(tuples)
            else:
                params.extend(dict(zip(self.order, values, strict=True)) for values in tuples)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.sql, params)

    def _column(self, rows: LoggedRows, name: str) -> Iterable[Any]:
        processor = self.processors.get(name)
        if name in rows.shared:
            value = rows.shared[name]
            return repeat(value if processor is None else processor(value), len(rows))
        values = rows.per_row[name]
        return values if processor is None else map(processor, values)


def _bind_processor(column_type: Any, dialect: Any) -> Any:
    """What SQLAlchemy itself would do to a value of `column_type` before the driver sees it
    (the dialect's own form: SQLite stores a timestamp as text in its format)."""
    return column_type.dialect_impl(dialect).bind_processor(dialect)
