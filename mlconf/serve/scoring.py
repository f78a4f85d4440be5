"""Running the model for a request: small requests on the event loop (fast for single
records), large ones on a worker thread so they do not stall other requests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from anyio import to_thread

from mlconf.core.errors import MlconfError
from mlconf.serve.errors import RequestError
from mlconf.serve.loader import Loaded

log = logging.getLogger("mlconf.serve")

# Up to this many records are scored on the event loop; larger requests go to a thread.
INLINE_RECORDS = 64


async def run_model(records: int, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` for `records` records; the model's refusals become 422."""
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


def score(loaded: Loaded, columns: list[list[Any]], size: int) -> tuple[list[Any], Any]:
    """Predictions and class probabilities (or None) of validated values by column: through
    the compiled scorer when the model has one, else (or if it fails) the full pipeline."""
    from mlconf.serve.schema import columns_frame

    if loaded.scorer is not None:
        try:
            return loaded.scorer.score(columns, size)
        except Exception:  # never an answer the pipeline would not give: ask the pipeline
            log.warning("mlconf serve: the compiled scorer failed; using the full pipeline")
    return loaded.score(columns_frame(columns, loaded.rules, loaded.model))
