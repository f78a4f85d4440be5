"""Load: read every configured source, fingerprint it, and join them on their keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.component_registry import require
from mlconf.ml.data import loaded_line, read_data

if TYPE_CHECKING:
    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState


def load(ctx: RunState) -> None:
    frame, fingerprints = read_data(ctx.conf)
    ctx.record.fingerprints.update(fingerprints)
    ctx.count("rows_loaded", len(frame))
    ctx.frame = frame
    ctx.console.print(loaded_line(frame, ctx.conf))


def check(conf: TrainConfig) -> None:
    """Every source names a registered kind."""
    for name, source in conf.data.sources.items():
        require("source", source.kind, f"data.sources.{name}.kind")
