"""Plots of an Optuna study: how the search progressed, and which params mattered."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlconf.report.figures import pyplot, save_figure


def save_tuning_plots(study: Any, folder: Path) -> tuple[list[Path], list[str]]:
    """Write optimisation history and parameter importances; return files and warnings.

    Importances need at least two finished trials that vary a parameter; a study that
    cannot give them is reported, not treated as an error. Optuna warns once per parameter
    whose ranges hold too few trials (conditional parameters, short studies): those become
    one warning naming them, not a stream of Python warnings on stderr.
    """
    pyplot()
    import matplotlib
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    plots: dict[str, Callable[..., Any]] = {
        "optimization_history.png": optuna_plots.plot_optimization_history,
        "param_importances.png": optuna_plots.plot_param_importances,
    }
    written: list[Path] = []
    notes: list[str] = []
    for name, plot in plots.items():
        try:
            # Optuna's plots switch matplotlib to its own style globally; the context puts
            # every setting back, so later plots keep mlconf's look.
            with warnings.catch_warnings(record=True) as caught, matplotlib.rc_context():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            notes.append(f"tuning plot skipped: {name}: {exc}")
            continue
        notes.extend(_few_trials_note(name, caught))
        figure = axes.figure if hasattr(axes, "figure") else axes[0].figure
        figure.set_size_inches(8, 5)
        written.append(save_figure(figure, folder / name))
    return written, notes


def _few_trials_note(name: str, caught: list[warnings.WarningMessage]) -> list[str]:
    """One note for Optuna's per-parameter "few trials in some regimes" warnings; any other
    warning is passed on as it came."""
    params = []
    for warning in caught:
        found = _REGIMES.search(str(warning.message))
        if found:
            params.append(found.group(1))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if not params:
        return []
    return [
        f"{name}: the importances of {', '.join(dict.fromkeys(params))} rest on fewer than "
        "2 finished trials in some of their ranges, and may be inaccurate"
    ]


_REGIMES = re.compile(r"Some regimes for parameter `([^`]+)` have less than")
