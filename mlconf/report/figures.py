"""What every plot of a run shares: the Agg backend, the size limit, an atomic PNG write."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from mlconf.store.atomic import write_with

DPI = 100
# Widest figure in inches: 900 px at DPI, the limit of the run directory contract.
MAX_WIDTH = 9.0


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: Path) -> Path:
    """Write `figure` as a PNG atomically (at most 900 px wide), then close it."""
    width, height = figure.get_size_inches()
    if width > MAX_WIDTH:
        figure.set_size_inches(MAX_WIDTH, height * MAX_WIDTH / width)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_with(path, partial(_save_png, figure))
    finally:
        pyplot().close(figure)
    return path


def _save_png(figure: Any, path: Path) -> None:
    figure.savefig(path, format="png", dpi=DPI)
