"""Plots of an Optuna study: how the search progressed, and which params mattered."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlconf.report.figures import pyplot, save_figure


def save_tuning_plots(study: Any, folder: Path) -> tuple[list[Path], list[str]]:
    """Write optimisation history and parameter importances; return files and skip reasons.

    Importances need at least two finished trials that vary a parameter; a study that
    cannot give them is reported, not treated as an error.
    """
    pyplot()
    import matplotlib
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    plots: dict[str, Callable[..., Any]] = {
        "optimization_history.png": optuna_plots.plot_optimization_history,
        "param_importances.png": optuna_plots.plot_param_importances,
    }
    written, skipped = [], []
    for name, plot in plots.items():
        try:
            # Optuna's plots switch matplotlib to its own style globally; the context puts
            # every setting back, so later plots keep mlconf's look.
            with warnings.catch_warnings(), matplotlib.rc_context():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            skipped.append(f"{name}: {exc}")
            continue
        figure = axes.figure if hasattr(axes, "figure") else axes[0].figure
        figure.set_size_inches(8, 5)
        written.append(save_figure(figure, folder / name))
    return written, skipped
