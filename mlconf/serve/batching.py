"""Request micro-batching: concurrent scoring requests are scored as one batch.

A request that reaches the scorer waits while other scoring requests are still on their
way (read, parsed, validated), for at most `batch_window_ms`, or until the batch holds
`batch_max_records` records; a lone request is scored at once. The batch is scored in one
call and each request gets its own rows back. Records are validated before they join a
batch, so a bad record fails only its own request; if the model refuses a batch, each
request is scored again on its own, so only the request it refuses fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from mlconf.serve.loader import Loaded
from mlconf.serve.scoring import INLINE_RECORDS, run_model, score

# The scope key that marks a request as one that will reach the scorer (set by the guard).
ARRIVING = "mlconf.arriving"
Result = tuple[list[Any], Any]
log = logging.getLogger("mlconf.serve")
_RUNNING: set[asyncio.Future[None]] = set()  # requests scored alone, kept until done


@dataclass
class _Item:
    loaded: Loaded
    columns: list[list[Any]]
    size: int
    future: asyncio.Future[Result]


@dataclass
class MicroBatcher:
    """Gathers concurrent requests' records into batches for the scorer."""

    window_s: float
    max_records: int
    arriving: int = 0  # scoring requests in the service that have not reached the scorer
    _pending: list[_Item] = field(default_factory=list)
    _rows: int = 0
    _timer: asyncio.TimerHandle | None = None
    batches: int = 0  # batches scored (for tests and metrics)

    def enter(self, scope: MutableMapping[str, Any]) -> None:
        """A scoring request came in: batches may wait for it (called by the guard)."""
        scope[ARRIVING] = True
        self.arriving += 1

    def leave(self, scope: MutableMapping[str, Any]) -> None:
        """The request is done; if it never reached the scorer, stop waiting for it."""
        if scope.pop(ARRIVING, False):
            self.arriving -= 1
            if self._pending and self.arriving <= 0:
                self._flush_soon()

    async def score(
        self, scope: MutableMapping[str, Any], loaded: Loaded, columns: list[list[Any]], size: int
    ) -> Result:
        """Predictions and probabilities of these records, scored with others arriving now."""
        if scope.pop(ARRIVING, False):
            self.arriving -= 1
        if self.window_s <= 0 or size > INLINE_RECORDS:
            result: Result = await run_model(size, score, loaded, columns, size)
            return result
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(loaded, columns, size, future))
        self._rows += size
        if self.arriving <= 0 or self._rows >= self.max_records:
            self._flush_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window_s, self._flush)
        return await future

    def _flush_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_soon(self._flush)  # type: ignore[assignment]

    def _flush(self) -> None:
        self._timer = None
        items, self._pending, self._rows = self._pending, [], 0
        if not items:
            return
        self.batches += 1
        by_model: dict[int, list[_Item]] = {}
        for item in items:  # a reload may swap the model between two requests
            by_model.setdefault(id(item.loaded), []).append(item)
        for group in by_model.values():
            try:
                _score_group(group)
            except Exception as exc:  # no request may wait for ever on a batch that broke
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(exc)


def _score_group(items: list[_Item]) -> None:
    """Score the items as one batch; if that fails, each on its own."""
    loaded = items[0].loaded
    width = len(loaded.rules)
    if len(items) > 1:
        columns = [list(chain.from_iterable(it.columns[j] for it in items)) for j in range(width)]
        try:
            labels, proba = score(loaded, columns, sum(item.size for item in items))
        except Exception as exc:  # one request's records may be the reason: each alone
            log.info(
                "mlconf serve: a batch of %d requests failed (%s); each alone", len(items), exc
            )
        else:
            start = 0
            for item in items:
                end = start + item.size
                part = proba[start:end] if proba is not None else None
                _answer(item.future, (labels[start:end], part))
                start = end
            return
    for item in items:
        task = asyncio.ensure_future(_score_alone(item))
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)


async def _score_alone(item: _Item) -> None:
    try:
        result = await run_model(item.size, score, item.loaded, item.columns, item.size)
    except Exception as exc:
        if not item.future.done():
            item.future.set_exception(exc)
    else:
        _answer(item.future, result)


def _answer(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():  # the client may have gone away
        future.set_result(result)
