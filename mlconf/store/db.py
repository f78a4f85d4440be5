"""What every mlconf table store (registry, prediction log, monitor history) does alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa


def create_tables(metadata: sa.MetaData, engine: sa.Engine, attempts: int = 5) -> None:
    """Create the missing tables; processes starting together on one server may race.

    PostgreSQL lets two CREATE TABLEs of one name run at once and fails the second with a
    duplicate key or "already exists"; the tables are there then, so look again.
    """
    import sqlalchemy as sa

    for attempt in range(attempts):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            racing = "already exists" in str(exc) or "duplicate key" in str(exc)
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
