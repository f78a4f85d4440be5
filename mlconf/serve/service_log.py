"""The service's console log, alike in the single process and in every worker."""

from __future__ import annotations

import logging
import sys
from typing import Any


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a line is logged: `mlconf serve` run inside
    another program (a notebook, a test) leaves no handler bound to a stream that program
    closes later."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """StreamHandler's own assignments are ignored: the stream is looked up per line."""


def configure_service_logging() -> None:
    """INFO lines with their time; the registry's schema migrations (alembic) only when
    something is wrong, as in a training run's log."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[_CurrentStderr()],
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
