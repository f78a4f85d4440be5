"""Running the model for a request: small requests on the event loop (fast for single
records), large ones on a worker thread so they do not stall other requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread

from mlconf.core.errors import MlconfError
from mlconf.serve.errors import RequestError
from mlconf.serve.loader import Loaded

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


def score(loaded: Loaded, records: list[Any]) -> tuple[list[Any], Any]:
    """Predictions and class probabilities (or None) of validated records."""
    from mlconf.serve.schema import to_frame

    return loaded.score(to_frame(records, loaded.rules, loaded.model))
