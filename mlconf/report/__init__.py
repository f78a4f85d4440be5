"""Figures and documents made from a run: tuning plots, `report.html`, `model_card.md`, and
the comparison report of a multirun. Each reads only the run folder, so it can be rebuilt
without retraining (`mlconf report RUN_DIR`)."""

from mlconf.report.html import build_report, build_sweep_report
from mlconf.report.model_card import write_model_card

__all__ = ["build_report", "build_sweep_report", "write_model_card"]
