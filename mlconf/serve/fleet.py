"""What the worker processes of one service share (`workers > 1`, mlconf.serve.workers):
the run folder named by MLCONF_SERVE_RUN, and the reload generation file through which a
reload asked of one worker reaches the others."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any, Protocol


class Reloadable(Protocol):
    """What the watcher reloads: mlconf.serve.state.ServiceState."""

    announced: str | None

    async def reload(self, *, only_if_changed: bool) -> dict[str, Any]: ...


RUN_ENV = "MLCONF_SERVE_RUN"
GENERATION_FILE = "reload-generation"
WATCH_SECONDS = 0.5


def run_folder() -> Path | None:
    """The shared folder of a multi-worker service, None for one process."""
    folder = os.environ.get(RUN_ENV)
    return Path(folder) if folder else None


def generation(folder: Path) -> str:
    try:
        return (folder / GENERATION_FILE).read_text()
    except FileNotFoundError:
        return ""


def announce_reload(folder: Path) -> str:
    """Tell the other workers to reload: a new generation, written atomically."""
    value = f"{os.getpid()}-{os.urandom(4).hex()}"
    part = folder / f".{GENERATION_FILE}.{os.getpid()}"
    part.write_text(value)
    part.replace(folder / GENERATION_FILE)
    return value


async def watch_reloads(state: Reloadable, folder: Path) -> None:
    """Reload whenever another worker announces a reload."""
    from mlconf.serve.errors import RequestError

    seen = generation(folder)
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        now = generation(folder)
        if now == seen or now == state.announced:
            seen = now
            continue
        seen = now
        with contextlib.suppress(RequestError):  # logged and counted by reload
            await state.reload(only_if_changed=False)
