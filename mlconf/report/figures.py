"""What every plot of a run shares: the Agg backend, the size limit, an atomic PNG write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from mlconf.store.atomic import write_with

DPI = 100
# Widest figure in inches: 900 px at DPI, the limit of the run directory contract.
MAX_WIDTH = 9.0

P = ParamSpec("P")
R = TypeVar("R")
# pyplot keeps global state (its figure list, rcParams): a run draws on two threads (its
# stages, and the background worker that writes plots beside them), one figure at a time.
_DRAWING = threading.RLock()


def one_at_a_time(draw: Callable[P, R]) -> Callable[P, R]:
    """Let `draw` (a function that makes, saves and closes figures) hold the drawing lock."""

    @wraps(draw)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        with _DRAWING:
            return draw(*args, **kwargs)

    return locked


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def prepare_drawing(modules: list[str]) -> None:
    """In a fresh drawing process, before its first plot: matplotlib on Agg, then the plot
    modules (a module that fails to import is left for its plot to report)."""
    from mlconf.core.background import import_quietly

    pyplot()
    import_quietly(modules)


def save_figure(figure: Any, path: Path) -> Path:
    """Write `figure` as a PNG atomically (at most 900 px wide), then close it."""
    width, height = figure.get_size_inches()
    if width > MAX_WIDTH:
        figure.set_size_inches(MAX_WIDTH, height * MAX_WIDTH / width)
    lay_out(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_with(path, partial(write_png, figure))
    finally:
        pyplot().close(figure)
    return path


def lay_out(figure: Any) -> None:
    """Lay the figure out once (`tight_layout`), and leave it no layout engine.

    `tight_layout` leaves a placeholder engine behind, and `savefig` draws a figure that
    has one twice: once without rendering (for the engine) and once for the pixels. The
    first draw changes nothing here and was a sixth of the drawing process's time."""
    figure.tight_layout()
    figure.set_layout_engine(None)


def write_png(figure: Any, path: Path) -> None:
    """The figure as a PNG at DPI (the writer of `write_with`)."""
    figure.savefig(path, format="png", dpi=DPI)
