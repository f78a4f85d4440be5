"""`workers > 1`: uvicorn starts that many processes, each building the app here.

`serve_workers` (in the parent) writes the settings to a run folder and points the workers
at it (MLCONF_SERVE_RUN); prometheus-client's multiprocess files live there too. Each worker
loads and verifies the model itself. A reload asked of one worker (`POST /admin/reload`)
bumps a generation file there; every worker watches it and reloads too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mlconf.config import ServeConfig
from mlconf.serve.fleet import RUN_ENV, run_folder

if TYPE_CHECKING:
    from fastapi import FastAPI


SETTINGS_FILE = "settings.json"


def serve_workers(ref: str, registry_url: str, settings: ServeConfig) -> None:
    """Serve with `settings.workers` uvicorn worker processes (blocks until stopped)."""
    with tempfile.TemporaryDirectory(prefix="mlconf-serve-") as tmp:
        folder = Path(tmp)
        (folder / "metrics").mkdir()
        settings_of = dataclasses.asdict(settings)
        payload = {"ref": ref, "registry_url": registry_url, "settings": settings_of}
        (folder / SETTINGS_FILE).write_text(json.dumps(payload))
        shared = {RUN_ENV: str(folder), "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
        before = {key: os.environ.get(key) for key in shared}
        os.environ.update(shared)  # the worker processes inherit them
        try:
            _run(settings)
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _run(settings: ServeConfig) -> None:
    import uvicorn

    uvicorn.run(
        "mlconf.serve.workers:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,
    )


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory), from the run folder's settings."""
    from mlconf.serve.app import create_app
    from mlconf.serve.service_log import configure_service_logging

    configure_service_logging()
    folder = run_folder()
    if folder is None:
        raise RuntimeError(f"{RUN_ENV} is not set: start workers with `mlconf serve workers=N`")
    payload = json.loads((folder / SETTINGS_FILE).read_text())
    settings = ServeConfig(**payload["settings"])
    return create_app(payload["ref"], settings, payload["registry_url"])
