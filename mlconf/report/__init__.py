"""Figures and documents made from a run: tuning plots, `report.html`, `model_card.md`, and
the comparison report of a multirun. Each reads only the run folder, so it can be rebuilt
without retraining (`mlconf report RUN_DIR`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from mlconf.report.html import build_report, build_sweep_report
    from mlconf.report.model_card import write_model_card

__all__ = ["build_report", "build_sweep_report", "write_model_card"]

# Imported on first use (PEP 562): a plot module (mlconf.report.figures) is all a run's
# drawing process needs of this package, not the report's sections and templates.
_LAZY = {
    "build_report": "mlconf.report.html",
    "build_sweep_report": "mlconf.report.html",
    "write_model_card": "mlconf.report.model_card",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
