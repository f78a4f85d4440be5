"""Where a search starts: the model's default configuration first, then known-good ones.

A random or TPE start on a realistic table spends its first minute on configurations that
are slow and worse than the defaults (issue 18: five random xgboost trials of up to 750
trees at depth 10 took 77 s and ended below the untuned run). So the study's first trial
is the configured model exactly as an untuned run trains it (`model.params`, without the
space), and the `search.portfolio` configurations follow it. The default stays the best
trial unless another trial beats it on the same folds, so a tuned run is never worse than
the default on the tuning CV.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    import optuna

    from mlconf.ml.tuning.space import Param, SearchSpace

START = "start"  # user attribute of an enqueued trial: "default" or "portfolio"
DEFAULT = "default"
PORTFOLIO = "portfolio"
FAMILY = "model"  # the parameter of an across-family space (search=auto) naming the model

# The values xgboost's scikit-learn wrapper leaves as None mean these (xgboost's documented
# defaults); only used to say when a space cannot reach the default.
NATIVE_DEFAULTS: dict[str, dict[str, Any]] = {
    "xgboost": {
        "n_estimators": 100,
        "max_depth": 6,
        "learning_rate": 0.3,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "reg_alpha": 0.0,
        "gamma": 0.0,
        "grow_policy": "depthwise",
    },
}


@dataclass(frozen=True)
class Start:
    """One enqueued trial: its stored params and whether it is a family's default."""

    params: dict[str, Any]
    role: str


def starts(
    space: SearchSpace, families: Sequence[str], portfolio: Sequence[Mapping[str, Any]]
) -> list[Start]:
    """The default of each family (in the order given), then the portfolio entries."""
    auto = FAMILY in space.params and len(families) > 1
    first = [Start({FAMILY: f} if auto else {}, DEFAULT) for f in families]
    return first + [Start(dict(entry), PORTFOLIO) for entry in portfolio]


def enqueue(study: optuna.Study, planned: Sequence[Start]) -> int:
    """Put the starts at the head of a new study; a resumed study has them already.

    Returns how many were enqueued (0 when the study already holds trials).
    """
    if study.trials:
        return 0
    for start in planned:
        study.enqueue_trial(start.params, user_attrs={START: start.role}, skip_if_exists=True)
    return len(planned)


def usable_portfolio(
    space: SearchSpace,
    portfolio: Sequence[Any],
    warn: Callable[[str], None],
    families: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The portfolio entries the space can take. A key the space does not have is a typo and
    fails; a value outside a range narrowed by an override is skipped with a warning."""
    kept = []
    for i, entry in enumerate(portfolio):
        where = f"config key search.portfolio[{i}]"
        if not isinstance(entry, Mapping):
            raise MlconfError(
                f"a portfolio entry must map parameter names to values, got {entry!r}",
                where=where,
                fix="write e.g. `- {learning_rate: 0.1, max_depth: 6}`",
            )
        plain = {str(k): v for k, v in entry.items()}
        for key in plain:
            if key not in space.params:
                raise MlconfError(
                    f"{key!r} is not a parameter of search.space.{did_you_mean(key, space.params)}",
                    where=where,
                    fix=f"use names of search.space: {', '.join(space.params)}",
                )
        bad = [k for k, v in plain.items() if not _reachable(space.params[k], v)]
        if FAMILY in plain and families and plain[FAMILY] not in families:
            bad.append(FAMILY)
        if bad:
            shown = ", ".join(f"{k}={plain[k]!r}" for k in bad)
            warn(f"search.portfolio[{i}] skipped: {shown} outside search.space")
            continue
        kept.append(plain)
    return kept


def default_outside(
    space: SearchSpace, family: str, defaults: Mapping[str, Any], prefix: str = ""
) -> list[str]:
    """One line per searched parameter whose range excludes the model's default value.

    `defaults` are the model's params as configured (the estimator's own get_params()
    filled in with NATIVE_DEFAULTS where the library leaves them None).
    """
    native = NATIVE_DEFAULTS.get(family, {})
    lines = []
    for name, param in space.params.items():
        if param.type == "fixed" or not name.startswith(prefix) or name == FAMILY:
            continue
        key = name[len(prefix) :]
        value = defaults.get(key)
        if value is None:
            value = native.get(key)
        if value is None or _reachable(param, value):
            continue
        lines.append(
            f"search.space.{name} excludes the default {key}={value!r} of {family} "
            f"({_shown(param)}): the default is still scored first (trial 0), but no trial "
            f"searches near it; widen the range to include {value!r} if that is unintended"
        )
    return lines


def _reachable(param: Param, value: Any) -> bool:
    from mlconf.ml.tuning.space import reachable

    return reachable(param, value)


def _shown(param: Param) -> str:
    if param.type == "categorical":
        return f"choices {list(param.choices)}"
    return f"{param.type} in [{param.low}, {param.high}]"
