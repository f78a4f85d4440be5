"""The service's console log, alike in the single process and in every worker."""

from __future__ import annotations

import logging


def configure_service_logging() -> None:
    """INFO lines with their time; the registry's schema migrations (alembic) only when
    something is wrong, as in a training run's log."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
