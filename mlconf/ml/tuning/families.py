"""What one trial trains: a model family and its params, for one family or across several.

`search.model: auto` searches the family as a parameter of its own: the space has a
categorical `model` listing the families, and each family's parameters are written
`<family>__<param>` (scikit-learn's nesting mark) with `when: {model: <family>}`. One
budget, one study; the leaderboard shows each family's best trial. A single-family space
(`search.model: xgboost`) has plain parameter names.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, unknown_parameter
from mlconf.ml.tuning.space import SearchSpace
from mlconf.ml.tuning.start import DEFAULT, FAMILY, START

if TYPE_CHECKING:
    import optuna
    import pandas as pd


AUTO = "auto"
SEP = "__"


@dataclass(frozen=True)
class Plan:
    """The families a study may train, each with the params an untuned run gives it."""

    space: SearchSpace
    base: Mapping[str, dict[str, Any]]  # family -> its params before tuning
    auto: bool = False  # the family is a parameter of the space (search.model: auto)
    threaded: frozenset[str] = frozenset()  # families whose params take n_jobs
    model_threads: int | None = None  # the model's n_jobs when positive; 1 in parallel trials

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(self.base)

    def thread_limit(self, family: str) -> AbstractContextManager[Any]:
        """Where a fit of `family` runs within the model's threads. A family without an
        n_jobs parameter (hist_gb: OpenMP) would take every core: an auto search would give
        the families unequal shares of the machine, and on a small table its threads spend
        more time waking each other than building trees (wine: 11-26 s trials on two
        threads). It gets the model's n_jobs instead, one thread when trials run in
        parallel. The limit holds for the calling thread, which is the trial's own."""
        if family in self.threaded or self.model_threads is None:
            return nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.model_threads, user_api="openmp")

    def trial(self, trial: optuna.Trial) -> tuple[str, dict[str, Any], bool]:
        """(family, params, is the default) of one trial. A default trial runs the family's
        params exactly as an untuned run does: the space is not asked."""
        family = self.family_of(trial)
        if trial.user_attrs.get(START) == DEFAULT:
            return family, dict(self.base[family]), True
        return family, self.params(family, self.space.suggest(trial)), False

    def family_of(self, trial: optuna.Trial) -> str:
        if not self.auto:
            return self.families[0]
        chosen: str = self.space.params[FAMILY].suggest(trial)
        return chosen

    def params(self, family: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The family's base params with the sampled values (prefix removed under auto)."""
        if not self.auto:
            return {**self.base[family], **values}
        prefix = f"{family}{SEP}"
        own = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        return {**self.base[family], **own}


def replay(trial: optuna.trial.FrozenTrial) -> optuna.trial.FixedTrial:
    """A finished trial as Optuna's FixedTrial, so `Plan.trial` rebuilds its params exactly."""
    import optuna

    fixed = optuna.trial.FixedTrial(trial.params, trial.number)
    for key, value in trial.user_attrs.items():
        fixed.set_user_attr(key, value)
    return fixed


def auto_families(space: SearchSpace, where: str = "search.space") -> tuple[str, ...]:
    """The families an across-family space lists; it must have a categorical `model`."""
    param = space.params.get(FAMILY)
    if param is None or param.type != "categorical":
        raise MlconfError(
            "search.model is auto, so the space needs a categorical parameter 'model' "
            "listing the model families",
            where=where,
            fix="add `model: {type: categorical, choices: [xgboost, hist_gb, random_forest, "
            "logistic]}`, or use search=auto",
        )
    for name, other in space.params.items():
        if name == FAMILY:
            continue
        family, sep, _ = name.partition(SEP)
        if not sep or family not in param.choices:
            raise MlconfError(
                f"parameter {name!r} of an across-family space must be named "
                f"<family>{SEP}<param> with a family of {list(param.choices)}",
                where=f"{where}.{name}",
                fix=f"rename it, e.g. {param.choices[0]}{SEP}{name.split(SEP)[-1]}",
            )
        if other.when.get(FAMILY) != (family,):
            raise MlconfError(
                f"parameter {name!r} belongs to {family} but is not limited to it",
                where=f"{where}.{name}",
                fix=f"add `when: {{model: {family}}}`",
            )
    return tuple(str(c) for c in param.choices)


def family_board(
    trials: Sequence[optuna.trial.FrozenTrial], primary: str, higher_is_better: bool
) -> pd.DataFrame:
    """Each family's best completed trial, best first: the leaderboard of an auto search."""
    import pandas as pd

    rows: dict[str, dict[str, Any]] = {}
    sign = 1.0 if higher_is_better else -1.0
    for trial in trials:
        family = trial.params.get(FAMILY)
        if family is None:
            continue
        row = rows.setdefault(
            family,
            {"candidate": family, "model": family, f"{primary}_mean": math.nan, "trials": 0},
        )
        row["trials"] += 1
        if trial.state.name != "COMPLETE" or not trial.values:
            continue
        value = trial.values[0]
        best = row[f"{primary}_mean"]
        if math.isnan(best) or sign * value > sign * best:
            row.update({f"{primary}_mean": value, "best_trial": trial.number})

    def badness(row: dict[str, Any]) -> float:
        value = row[f"{primary}_mean"]
        return math.inf if math.isnan(value) else -sign * value

    board = pd.DataFrame(sorted(rows.values(), key=badness))
    board.insert(0, "rank", range(1, len(board) + 1))
    return board


def family_fit(
    family: str, params: dict[str, Any], task: str, space: SearchSpace, auto: bool
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The family's params before tuning (its estimator's defaults under `params`), and its
    space parameters that only its estimator for the other task takes.

    One across-family space serves classification and regression, but a family's estimator
    can differ by task (`logistic` is least squares for regression: no `C`). Such a
    parameter is left out of the search; one neither estimator takes is a misspelling and
    fails here, before the first trial.
    """
    from mlconf.config import ModelConfig
    from mlconf.ml.pipeline import make_model

    model = make_model(ModelConfig(name=family, params=params), task)
    takes = {**model.get_params(deep=False), **params}
    prefix = f"{family}{SEP}" if auto else ""
    missing = {
        name: name[len(prefix) :]
        for name in space.params
        if name != FAMILY and name.startswith(prefix) and name[len(prefix) :] not in takes
    }
    if not missing:
        return takes, ()
    elsewhere = _other_task_params(family, task)
    for name, param in missing.items():
        if param not in elsewhere:
            raise unknown_parameter(
                f"model '{family}'",
                param,
                sorted({*takes, *elsewhere}),
                where=f"config key search.space.{name}",
            )
    return takes, tuple(missing)


def _other_task_params(family: str, task: str) -> frozenset[str]:
    """The parameter names of the family's estimator for the task this run is not."""
    from mlconf.config import ModelConfig
    from mlconf.ml.pipeline import make_model

    other = "regression" if task == "classification" else "classification"
    try:
        model = make_model(ModelConfig(name=family, params={}), other)
    except MlconfError:  # the family has no estimator for the other task
        return frozenset()
    return frozenset(model.get_params(deep=False))


def without(space: SearchSpace, names: Collection[str]) -> SearchSpace:
    """The space less `names` (parameters no family of this run can take)."""
    keep = {name: param for name, param in space.params.items() if name not in names}
    return SearchSpace(keep, tuple(name for name in space.order if name in keep))


def within(space: SearchSpace, declared: Mapping[str, Any], portfolio: Sequence[Any]) -> list[Any]:
    """The portfolio without the parameters `space` left out of what the config `declared`
    (a family's parameters this task's estimator does not take, said when left out), so an
    entry that names one still runs with the rest."""
    gone = set(declared) - set(space.params)
    return [
        {k: v for k, v in entry.items() if k not in gone} if isinstance(entry, Mapping) else entry
        for entry in portfolio
    ]
