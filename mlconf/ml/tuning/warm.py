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

# Libraries the stages after training import (save: skops, which imports every scikit-learn
# estimator it trusts; register: SQLAlchemy; report: jinja2). Imported in the background
# while the trials or the final fit run (xgboost releases the GIL), they cost those stages
# nothing; each is named by the stage that uses it, so a run without it skips it. The train
# stage warms them up as well (for runs without tuning). alembic is not among them: the
# registry imports it only to create or upgrade a database, once per project, and warming
# it on every run cost about half a second of CPU.
LATER_IMPORTS = {
    "save": ("skops.io",),
    "register": ("sqlalchemy",),
    "report": ("jinja2",),
}


def warm_up(stages: Sequence[str]) -> threading.Thread:
    """Start importing the plotting libraries, then what `stages` need later
    (LATER_IMPORTS); join the thread before drawing."""
    modules = [m for stage in stages for m in LATER_IMPORTS.get(stage, ())]
    thread = threading.Thread(target=_import_all, args=(modules,), name="mlconf-warm-up")
    thread.start()
    return thread


def _import_all(modules: list[str]) -> None:
    from mlconf.core.background import import_quietly
    from mlconf.report.figures import pyplot

    pyplot()
    import_quietly(["optuna.visualization.matplotlib", *modules])
