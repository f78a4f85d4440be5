"""The service's life: open the prediction log and load the model at start-up, check the
ref for a new model every `reload_interval` seconds, close the log at shutdown.

A model that is refused at start-up does not stop the service: /health answers and
/ready says why, so an orchestrator sees the reason instead of a crash loop.
"""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from mlconf.serve.errors import RequestError
from mlconf.serve.fleet import run_folder, watch_reloads
from mlconf.serve.loader import registry_engine
from mlconf.serve.state import ServiceState

log = logging.getLogger("mlconf.serve")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.service
    if state.settings.log_predictions:
        await open_prediction_log(state)
    with contextlib.suppress(RequestError):  # logged and counted by reload
        await state.reload(only_if_changed=False)
    settle_heap()
    tasks = []
    if state.settings.reload_interval:
        tasks.append(
            asyncio.create_task(periodic_reload(state, float(state.settings.reload_interval)))
        )
    folder = run_folder()
    if folder is not None:  # one of several workers: reload when another one did
        tasks.append(asyncio.create_task(watch_reloads(state, folder)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        if state.prediction_log is not None:
            await to_thread.run_sync(state.prediction_log.close)


def settle_heap() -> None:
    """Take what start-up allocated (libraries, the model) out of the garbage collector's
    reach: a full collection then walks only what requests allocate, instead of pausing
    every request for tens of milliseconds to re-scan a million objects that live as long
    as the process."""
    gc.collect()
    gc.freeze()


async def open_prediction_log(state: ServiceState) -> None:
    """The log, or none: a registry that cannot be reached must not stop the predictions."""
    from mlconf.store.prediction_log import PredictionLog

    url = state.registry_url
    try:
        state.prediction_log = await to_thread.run_sync(
            lambda: PredictionLog(url, state.settings.log_queue_size, registry_engine(url))
        )
    except Exception as exc:
        state.metrics.error("prediction_log_unavailable")
        log.error(
            "mlconf serve: prediction log at %s unavailable (%s); predictions are "
            "served but not logged",
            url,
            str(exc).splitlines()[0],
        )


async def periodic_reload(state: ServiceState, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await state.reload(only_if_changed=True)
        except RequestError:
            pass  # logged and counted by reload
        except Exception:
            log.exception("mlconf serve: periodic reload failed")
