"""The stages of a run, in their default order: each a `Stage` of a check (run on the config
before any data is read) and a run (over the run state)."""

from __future__ import annotations

from mlconf.run_state import Stage
from mlconf.stages import (
    evaluate,
    explain,
    explore,
    fairness,
    load,
    prepare,
    privacy,
    register_model,
    report,
    save,
    select,
    split,
    train,
    tune,
    validate,
)

STAGES: dict[str, Stage] = {
    "load": Stage(load.load, load.check),
    "validate": Stage(validate.validate, validate.check),
    "privacy": Stage(privacy.privacy),
    "explore": Stage(explore.explore, plots="mlconf.ml.explore.plots", draws=explore.draws),
    "prepare": Stage(prepare.prepare),
    "split": Stage(split.split, split.check),
    "select": Stage(select.select, select.check),
    "tune": Stage(tune.tune, tune.check),
    "train": Stage(train.train, train.check),
    "evaluate": Stage(evaluate.evaluate, evaluate.check, plots="mlconf.report.evaluation_plots"),
    "explain": Stage(explain.explain, plots="mlconf.ml.interpret.plots", draws=explain.draws),
    "fairness": Stage(fairness.fairness, plots="mlconf.ml.fairness.plots", draws=fairness.draws),
    "save": Stage(save.save),
    "report": Stage(report.report),
    "register": Stage(register_model.register),
}
