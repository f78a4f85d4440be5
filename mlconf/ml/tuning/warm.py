"""Imports the stages after a study need, made while its trials run.

Drawing the tuning plots imports matplotlib and Optuna's plotting (2-3 s the first time),
and saving imports skops (which imports every scikit-learn estimator it trusts); done after
the study, they ate the final fit's share of `tune.timeout`. A thread of its own imports
them while the trials run; the caller joins it before drawing, because two threads
importing one package at once can see it half initialised.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence


def warm_up(modules: Sequence[str]) -> threading.Thread:
    """Start importing the plotting libraries, then `modules`; join the thread before use."""
    thread = threading.Thread(target=_import_all, args=(list(modules),), name="mlconf-warm-up")
    thread.start()
    return thread


def _import_all(modules: list[str]) -> None:
    import importlib

    from mlconf.report.figures import pyplot

    pyplot()
    for name in ["optuna.visualization.matplotlib", *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - the stage that needs it says what is wrong
            continue
