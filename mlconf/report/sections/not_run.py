"""What an optional section says when its stage did not run: how to switch it on."""

from __future__ import annotations

# How each optional section is switched on (shown when its artifact is absent).
ENABLE = {
    "privacy": "the `privacy` stage in `stages` and `privacy.scan=true`",
    "eda": "the `explore` stage in `stages` and `explore.enabled=true`",
    "selection": "candidates, e.g. `model_selection.candidates=[xgboost,logistic]`",
    "tuning": "a search space, e.g. `search=xgboost tune.n_trials=50`",
    "evaluation": "the `evaluate` stage in `stages`",
    "interpretation": "the `explain` stage in `stages` and `explain.enabled=true`",
    "fairness": "the `fairness` stage in `stages` and sensitive attributes under `fairness/`, "
    "e.g. `fairness=example` (see conf/fairness/example.yaml)",
    "quarantine": "`schema.on_error=quarantine` to set invalid rows aside",
}


def not_run(key: str) -> str:
    """The hint for section `key`: not run, and the setting that enables it."""
    return f"Not run in this experiment (enable with {ENABLE[key]})."
