"""The stages of a run, in their default order. Each is a function of the run context."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlconf.stages.evaluate import evaluate
from mlconf.stages.explain import explain
from mlconf.stages.explore import explore
from mlconf.stages.fairness import fairness
from mlconf.stages.load import load
from mlconf.stages.prepare import prepare
from mlconf.stages.privacy import privacy
from mlconf.stages.register import register
from mlconf.stages.report import report
from mlconf.stages.save import save
from mlconf.stages.select import select
from mlconf.stages.split import split
from mlconf.stages.train import train
from mlconf.stages.tune import tune
from mlconf.stages.validate import validate

if TYPE_CHECKING:
    from mlconf.stages.context import RunContext

STAGES: dict[str, Callable[[RunContext], None]] = {
    "load": load,
    "validate": validate,
    "privacy": privacy,
    "explore": explore,
    "prepare": prepare,
    "split": split,
    "select": select,
    "tune": tune,
    "train": train,
    "evaluate": evaluate,
    "explain": explain,
    "fairness": fairness,
    "save": save,
    "report": report,
    "register": register,
}
