"""Group metrics and fairness checks through fairlearn's MetricFrame.

Rates that a group cannot define (a true positive rate without positive rows) are
NaN, reported as null with a note, and never raise or warn. Groups smaller than
`min_group_size` are listed and flagged `small`; the checks compare only the groups
that are not small (a group of three rows makes any difference look large), and also
report the value over all groups as `value_all_groups`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.components.metrics.kernels import Confusion
    from mlconf.config import FairnessConfig, FairnessLimits
    from mlconf.ml.fairness.gaps import GroupDraws, Resampling

MISSING_GROUP = "(missing)"
FOUR_FIFTHS = 0.8
ON_FAIL = ("warn", "error")


def check_fairness_config(conf: FairnessConfig, columns: Sequence[str]) -> None:
    """Every sensitive or intersection column exists; settings are valid. Runs before training."""
    names = [str(c) for c in columns]
    for i, attribute in enumerate(conf.sensitive):
        if attribute.column not in names:
            raise MlconfError(
                f"sensitive attribute '{attribute.column}' is not a column of the data."
                f"{did_you_mean(attribute.column, names)}",
                where=f"config key fairness.sensitive[{i}].column",
                fix="name a column of the loaded data (see data/profile.json or the source file)",
            )
    for i, group in enumerate(conf.intersections):
        for column in group:
            if column not in names:
                raise MlconfError(
                    f"intersection column '{column}' is not a column of the data."
                    f"{did_you_mean(column, names)}",
                    where=f"config key fairness.intersections[{i}]",
                    fix="name columns of the loaded data",
                )
        if len(group) < 2:
            raise MlconfError(
                f"an intersection needs at least two columns, got {list(group)}",
                where=f"config key fairness.intersections[{i}]",
                fix="list two or more columns, e.g. [sex, race]",
            )
    if conf.on_fail not in ON_FAIL:
        raise MlconfError(
            f"unknown on_fail '{conf.on_fail}'",
            where="config key fairness.on_fail",
            fix="use warn or error",
        )
    if conf.part not in ("validation", "test"):
        raise MlconfError(
            f"unknown part '{conf.part}'",
            where="config key fairness.part",
            fix="use test or validation",
        )
    if conf.min_group_size < 1:
        raise MlconfError("must be at least 1", where="config key fairness.min_group_size")


def excluded_columns(conf: FairnessConfig) -> list[str]:
    """Sensitive columns kept out of the model's features."""
    return [a.column for a in conf.sensitive if not a.use_as_feature]


def group_labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One label per row: the value ('F') or, for an intersection, 'sex=F, race=B'."""
    parts = [
        frame[c].astype(object).where(frame[c].notna(), MISSING_GROUP).astype(str) for c in columns
    ]
    if len(columns) == 1:
        return parts[0].rename(columns[0])
    label = parts[0].radd(f"{columns[0]}=")
    for column, part in zip(columns[1:], parts[1:], strict=True):
        label = label + f", {column}=" + part
    return label.rename(" x ".join(columns))


# --- per-group metrics: each takes (y_true, y_pred) arrays and returns nan when undefined -----
# They compute through the evaluation kernels, the arithmetic every metric value comes from.


def _binary(y_true: Any, y_pred: Any) -> Confusion:
    """The confusion margins of one group, class code 1 being positive."""
    import numpy as np

    from mlconf.components.metrics.kernels import Confusion

    codes = (np.asarray(c) == 1 for c in (y_true, y_pred))
    true, pred = (c.astype(np.intp) for c in codes)
    return Confusion.of_codes(true, pred, 2, positive=1)


def _residual_sums(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sum of absolute errors, sum of squared errors) of one group."""
    import numpy as np

    err = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))
    return np.sum(err), np.sum(err**2)


def selection_rate(y_true: Any, y_pred: Any) -> float:
    from mlconf.components.metrics import kernels

    return float(kernels.selection_rate(_binary(y_true, y_pred))[0])


def true_positive_rate(y_true: Any, y_pred: Any) -> float:
    from mlconf.components.metrics import kernels

    return float(kernels.true_positive_rate(_binary(y_true, y_pred))[0])


def false_positive_rate(y_true: Any, y_pred: Any) -> float:
    from mlconf.components.metrics import kernels

    return float(kernels.false_positive_rate(_binary(y_true, y_pred))[0])


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of rows predicted right, whatever the classes (binary or multiclass)."""
    import numpy as np
    import pandas as pd

    from mlconf.components.metrics import kernels
    from mlconf.components.metrics.kernels import Confusion

    n = len(y_true)
    codes, classes = pd.factorize(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    k = len(classes)
    true, pred = np.where(codes[:n] < 0, k, codes[:n]), np.where(codes[n:] < 0, k + 1, codes[n:])
    return float(kernels.accuracy(Confusion.of_codes(true, pred, k + 2))[0])  # missing: a miss


def positives(y_true: Any, y_pred: Any) -> float:
    return float(_binary(y_true, y_pred).true[1, 0])


def mae(y_true: Any, y_pred: Any) -> float:
    from mlconf.components.metrics import kernels

    absolute, _ = _residual_sums(y_true, y_pred)
    return float(kernels.mean(absolute, len(y_true)))


def rmse(y_true: Any, y_pred: Any) -> float:
    from mlconf.components.metrics import kernels

    _, squared = _residual_sums(y_true, y_pred)
    return float(kernels.rmse(squared, len(y_true)))


def mean_prediction(y_true: Any, y_pred: Any) -> float:
    import numpy as np

    from mlconf.components.metrics import kernels

    pred = np.asarray(y_pred, dtype=float)
    return float(kernels.mean(np.sum(pred), len(pred)))


BINARY: dict[str, Callable[[Any, Any], float]] = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "accuracy": accuracy,
    "positives": positives,
}
MULTICLASS: dict[str, Callable[[Any, Any], float]] = {"accuracy": accuracy}
REGRESSION: dict[str, Callable[[Any, Any], float]] = {
    "mae": mae,
    "rmse": rmse,
    "mean_prediction": mean_prediction,
}


@dataclass
class GroupResult:
    attribute: str
    columns: list[str]
    by_group: pd.DataFrame  # one row per group: count, small, and the metrics
    checks: list[dict[str, Any]]


def metric_set(task: str, binary: bool) -> dict[str, Callable[[Any, Any], float]]:
    if task == "regression":
        return REGRESSION
    return BINARY if binary else MULTICLASS


def group_metrics(
    y_true: Any, y_pred: Any, groups: pd.Series, metrics: dict[str, Callable[[Any, Any], float]]
) -> pd.DataFrame:
    """fairlearn MetricFrame by group, plus the row count per group."""
    import warnings

    from fairlearn.metrics import MetricFrame, count

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = MetricFrame(
            metrics={"count": count, **metrics},
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=groups,
        )
    by_group = frame.by_group.copy()
    by_group["count"] = by_group["count"].astype(int)
    return by_group


def ratio_limit(limits: FairnessLimits) -> float | None:
    """The minimum selection-rate ratio: `four_fifths: true` (a deprecated alias) asks for
    at least 0.8, so the rule and demographic_parity_ratio are one check, not two."""
    ratio = limits.demographic_parity_ratio
    if not limits.four_fifths:
        return ratio
    return FOUR_FIFTHS if ratio is None else max(ratio, FOUR_FIFTHS)


def checks_for(
    result: GroupResult,
    conf: FairnessConfig,
    task: str,
    binary: bool,
    *,
    draws: GroupDraws | None = None,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Each configured limit against the gap between groups that are not small, judged on
    the gap's estimate and its bootstrap interval (`draws` of the groups that are not small)."""
    from mlconf.ml.fairness.gaps import interval
    from mlconf.ml.fairness.verdict import judge

    by_group = result.by_group
    large = by_group[~by_group["small"]]
    limits = conf.limits
    wanted: list[tuple[str, str, str, float | None, str]] = []  # name, metric, kind, limit, dir
    if task == "classification" and binary:
        wanted += [
            ("demographic_parity_difference", "selection_rate", "difference",
             limits.demographic_parity_difference, "max"),
            ("demographic_parity_ratio", "selection_rate", "ratio", ratio_limit(limits), "min"),
            ("equalized_odds_difference", "", "odds", limits.equalized_odds_difference, "max"),
        ]  # fmt: skip
    if task == "classification":
        wanted.append(
            ("accuracy_difference", "accuracy", "difference", limits.accuracy_difference, "max")
        )
    else:
        wanted.append(("error_difference", "mae", "difference", limits.error_difference, "max"))
    rows = int(large["count"].sum())
    checks = []
    for name, metric, kind, limit, direction in wanted:
        value = _statistic(large, metric, kind)
        compared = draws if len(large) > 1 else None
        low, high = interval(value, compared, metric, kind, confidence)
        check = {
            "attribute": result.attribute,
            "name": name,
            "value": value,
            "low": low,
            "high": high,
            "value_all_groups": _statistic(by_group, metric, kind),
            "limit": limit,
            "limit_is": "maximum" if direction == "max" else "minimum",
            "passed": _passed(value, limit, direction),
            "rows": rows,
            "note": _check_note(name, large, value, conf),
        }
        checks.append({**check, **judge(check, confidence, rows)})
    return checks


def _passed(value: float, limit: float | None, direction: str) -> bool | None:
    """The estimate alone meets the limit (None: no limit, or an undefined gap)."""
    if limit is None or math.isnan(value):
        return None
    return value <= limit if direction == "max" else value >= limit


def _check_note(name: str, large: pd.DataFrame, value: float, conf: FairnessConfig) -> str | None:
    if len(large) == 0:
        return f"no group has {conf.min_group_size} rows (fairness.min_group_size)"
    if len(large) == 1:
        return "only one group is large enough to compare"
    if math.isnan(value):
        return "undefined: a rate is undefined in every group (e.g. no positive rows)"
    if name == "demographic_parity_ratio" and conf.limits.four_fifths:
        return "limit includes four_fifths (deprecated: set demographic_parity_ratio: 0.8)"
    return None


def _statistic(by_group: pd.DataFrame, metric: str, kind: str) -> float:
    """The check's statistic on the groups' metrics: the same code as on each resample."""
    from mlconf.ml.fairness.gaps import statistic

    if len(by_group) == 0:
        return math.nan
    one_draw = {str(c): by_group[[c]].to_numpy() for c in by_group.columns}
    return float(statistic(one_draw, metric, kind)[0])


def assess(
    y_true: Any,
    y_pred: Any,
    frame: pd.DataFrame,
    conf: FairnessConfig,
    *,
    task: str,
    binary: bool,
    resampling: Resampling | None = None,
) -> list[GroupResult]:
    """Group metrics and checks for every sensitive attribute and configured intersection.

    The gaps' intervals come from `resampling` (default: 200 seeded resamples at 95%).
    """
    import numpy as np
    import pandas as pd

    from mlconf.ml.fairness.gaps import Resampling, group_draws

    resampling = resampling or Resampling()
    metrics = metric_set(task, binary)
    sets = [[a.column] for a in conf.sensitive] + [list(g) for g in conf.intersections]
    results = []
    for columns in sets:
        labels = group_labels(frame, columns)
        by_group = group_metrics(y_true, y_pred, labels.to_numpy(), metrics)
        by_group.insert(1, "small", by_group["count"] < conf.min_group_size)
        result = GroupResult(str(labels.name), columns, by_group, [])
        compared = [str(g) for g in by_group.index[~by_group["small"]]]
        codes = pd.Index(compared).get_indexer(labels.to_numpy()).astype(np.intp)  # -1: small
        draws = group_draws(
            y_true, y_pred, codes, len(compared), task=task, binary=binary, resampling=resampling
        )
        result.checks = checks_for(
            result, conf, task, binary, draws=draws, confidence=resampling.confidence
        )
        results.append(result)
    return results


def groups_json(result: GroupResult) -> list[dict[str, Any]]:
    """The per-group rows of fairness.json, with undefined rates as null plus a note."""
    rows = []
    for group, values in result.by_group.iterrows():
        row: dict[str, Any] = {
            "attribute": result.attribute,
            "columns": result.columns,
            "group": str(group),
            "count": int(values["count"]),
            "small": bool(values["small"]),
        }
        notes = []
        for metric, value in values.items():
            if metric in ("count", "small"):
                continue
            number = float(value)
            row[str(metric)] = None if math.isnan(number) else number
            if math.isnan(number):
                notes.append(_undefined_note(str(metric)))
        if notes:
            row["note"] = "; ".join(notes)
        rows.append(row)
    return rows


def _undefined_note(metric: str) -> str:
    reasons = {
        "true_positive_rate": "no positive rows, so the true positive rate is undefined",
        "false_positive_rate": "no negative rows, so the false positive rate is undefined",
    }
    return reasons.get(metric, f"{metric} is undefined")
