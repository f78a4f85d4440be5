"""Drift of every input feature and of the predictions, judged against warn/alert levels.

Each feature runs the tests its type (or its own entry in `drift.columns`) names; p-values
are corrected across features per test (Benjamini-Hochberg by default), so fifty
features do not raise fifty false alarms. A feature has drifted when one of its tests is
at the alert level; the share of drifted features has its own levels.

A handful of rows says nothing about a distribution: with fewer current rows than
`drift.min_rows` (or fewer non-missing values of a feature than
`drift.min_rows_per_feature`) the section (or that feature) is "insufficient data": not
tested, shown as such, never an alert.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlconf.config.monitoring import MonitoringConfig, level_of

if TYPE_CHECKING:
    import pandas as pd

LEVELS = ("ok", "warn", "alert")
INSUFFICIENT = "insufficient data"  # the level of a feature (or section) too few rows judge
_OUTPUTS = {"label": "predicted class", "score": "score"}


@dataclass
class Alert:
    """One finding that needs attention: its kind, level, a sentence, and the numbers."""

    kind: str  # drift | performance | health | quality | ...
    level: str  # warn | alert
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "level": self.level,
            "message": self.message,
            "numbers": self.numbers,
        }


def worst(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index, default="ok")


def judged_level(rows: list[dict[str, Any]]) -> str:
    """The worst level of the rows that were judged; INSUFFICIENT when none was and some
    had too few rows."""
    judged = [r["level"] for r in rows if r["level"] != INSUFFICIENT]
    if not judged and rows:
        return INSUFFICIENT
    return worst(judged)


def too_few(count: int, minimum: int, what: str, key: str) -> str | None:
    """Why `count` rows are too few to judge drift on, or None when they are enough."""
    if count >= minimum:
        return None
    return f"{INSUFFICIENT}: {count} {what}, fewer than {key}={minimum}"


def adjust(p_values: list[float], method: str) -> list[float]:
    """P-values corrected for testing many features: Benjamini-Hochberg or Bonferroni."""
    import numpy as np

    p = np.asarray(p_values, dtype=float)
    n = p.size
    if n == 0 or method == "none":
        return p.tolist()
    if method == "bonferroni":
        return np.minimum(p * n, 1.0).tolist()
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(n)
    adjusted[order] = np.minimum(ranked, 1.0)
    return adjusted.tolist()


def current_values(profile: dict[str, Any], series: pd.Series) -> Any:
    """A column's non-missing current values in the form its tests take: numeric columns
    as a sorted float array (sorted once, shared by every test), categorical ones as a
    pandas Categorical of strings (hashed once, shared by every test)."""
    import numpy as np
    import pandas as pd

    from mlconf.components.drift import as_categorical

    if profile["kind"] == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        values.sort()
        return values
    return as_categorical(series)


def column_values(frame: pd.DataFrame, profiles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`current_values` of every profiled column in `frame`: the per-row work of drift, which
    runs on each row partition separately when a cluster computes it."""
    return {c: current_values(p, frame[c]) for c, p in profiles.items() if c in frame.columns}


def combine_values(
    profiles: dict[str, dict[str, Any]], parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The partitions' `column_values` joined into the whole frame's: numeric values merged
    in order, categorical values unioned (sorted categories, the rows' order kept), so the
    tests see exactly what `column_values` of the whole frame gives."""
    import numpy as np
    from pandas.api.types import union_categoricals

    combined: dict[str, Any] = {}
    for column, profile in profiles.items():
        pieces = [part[column] for part in parts if column in part]
        if not pieces:
            continue
        if profile["kind"] == "numeric":
            combined[column] = np.sort(np.concatenate(pieces), kind="stable")
            continue
        filled = [p for p in pieces if len(p)] or pieces[:1]
        combined[column] = union_categoricals(filled, sort_categories=True)
    return combined


def values_on_cluster(
    client: Any, profiles: dict[str, dict[str, Any]], frame: pd.DataFrame
) -> dict[str, Any]:
    """`column_values` of `frame`, computed on the cluster's workers, one row partition each."""
    import numpy as np

    from mlconf.components.cluster import map_ordered, worker_count

    bounds = np.linspace(0, len(frame), worker_count(client) + 1).astype(int)
    chunks = (frame.iloc[a:b] for a, b in itertools.pairwise(bounds))
    return combine_values(profiles, list(map_ordered(client, column_values, chunks, profiles)))


def tests_for(settings: MonitoringConfig, column: str, kind: str) -> list[str]:
    drift = settings.drift
    if column in drift.columns:
        return list(drift.columns[column])
    return list(drift.numeric if kind == "numeric" else drift.categorical)


def run_tests(
    profiles: dict[str, dict[str, Any]],
    frame: pd.DataFrame,
    settings: MonitoringConfig,
    tests: dict[str, list[str]] | None = None,
    precomputed: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every test on every column present in `frame`, p-values corrected, levels set.

    `precomputed`: the columns' `column_values`, when computed already (on a cluster).
    """
    from mlconf.core.component_registry import REGISTRY

    drift = settings.drift
    overall = too_few(len(frame), drift.min_rows, "current rows", "drift.min_rows")
    rows: list[dict[str, Any]] = []
    for column, profile in profiles.items():
        if column not in frame.columns:
            continue
        if precomputed is not None and column in precomputed:
            values = precomputed[column]
        else:
            values = current_values(profile, frame[column])
        row: dict[str, Any] = {
            "feature": column,
            "kind": profile["kind"],
            "rows": len(values),
            "tests": {},
        }
        key = "drift.min_rows_per_feature"
        short = overall or too_few(
            len(values), drift.min_rows_per_feature, "non-missing values", key
        )
        if overall is None and (len(values) == 0 or profile.get("count", 0) == 0):
            row["note"] = "no values to compare (all missing in current data or in training)"
        elif short is not None:
            row["note"] = short
            row["level"] = INSUFFICIENT
        else:
            names = (tests or {}).get(column) or tests_for(settings, column, profile["kind"])
            for name in names:
                component = REGISTRY.get("drift", name)
                applies = component.meta.get("applies_to", ("numeric", "categorical"))
                if profile["kind"] not in applies:
                    continue
                result = dict(component.factory(profile, values))
                row["tests"][name] = result
        rows.append(row)
    _judge(rows, settings)
    return rows


def _judge(rows: list[dict[str, Any]], settings: MonitoringConfig) -> None:
    """Correct p-values across features (per test), then set each test's and row's level."""
    import math

    by_test: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        for name, result in row["tests"].items():
            if result.get("p_value") is not None:
                by_test.setdefault(name, []).append(result)
    for results in by_test.values():
        adjusted = adjust([r["p_value"] for r in results], settings.drift.correction)
        for result, p in zip(results, adjusted, strict=True):
            result["p_adjusted"] = p
    for row in rows:
        if row.get("level") == INSUFFICIENT:
            row["drifted"], row["score"] = False, 0.0
            continue
        levels = []
        for name, result in row["tests"].items():
            level = level_of(settings, name)
            if result.get("p_value") is not None:
                p = result["p_adjusted"]
                result["level"] = "alert" if p < level.alert else "warn" if p < level.warn else "ok"
            else:
                s = result["statistic"]
                if s is None or (isinstance(s, float) and math.isnan(s)):
                    result["level"] = "ok"
                else:
                    result["level"] = (
                        "alert" if s >= level.alert else "warn" if s >= level.warn else "ok"
                    )
            levels.append(result["level"])
        row["level"] = worst(levels)
        row["drifted"] = row["level"] == "alert"
        row["score"] = _score(row)


def _score(row: dict[str, Any]) -> float:
    """How strongly a feature drifted, for ranking: PSI if run, else the largest statistic."""
    tests = row["tests"]
    if "psi" in tests:
        return float(tests["psi"]["statistic"])
    values = [float(t["statistic"]) for t in tests.values() if t.get("statistic") is not None]
    return max(values, default=0.0)


def feature_drift(
    reference: dict[str, Any],
    frame: pd.DataFrame,
    settings: MonitoringConfig,
    precomputed: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Alert]]:
    """Per-feature drift, the share of drifted features, and the alerts they raise."""
    rows = run_tests(reference["columns"], frame, settings, precomputed=precomputed)
    compared = [r for r in rows if r["tests"]]
    drifted = [r["feature"] for r in compared if r["drifted"]]
    share = len(drifted) / len(compared) if compared else 0.0
    drift = settings.drift
    share_level = (
        "alert" if share >= drift.share_alert else "warn" if share >= drift.share_warn else "ok"
    )
    if not drifted:
        share_level = "ok"
    overall = too_few(len(frame), drift.min_rows, "current rows", "drift.min_rows")
    status = INSUFFICIENT if overall else judged_level(rows)
    if status == INSUFFICIENT:
        share_level = INSUFFICIENT
    alerts: list[Alert] = []
    for row in sorted(rows, key=lambda r: -r["score"]):
        if row["level"] not in ("warn", "alert"):
            continue
        fired = {n: _brief(t) for n, t in row["tests"].items() if t["level"] != "ok"}
        alerts.append(
            Alert(
                "drift",
                row["level"],
                f"feature '{row['feature']}' drifted: "
                + ", ".join(f"{n} {v}" for n, v in fired.items()),
                {"feature": row["feature"], **{n: row["tests"][n] for n in fired}},
            )
        )
    if share_level in ("warn", "alert"):
        alerts.append(
            Alert(
                "drift",
                share_level,
                f"{len(drifted)} of {len(compared)} features drifted ({share:.0%})",
                {"share": share, "drifted": drifted},
            )
        )
    summary = {
        "features": sorted(rows, key=lambda r: -r["score"]),
        "compared": len(compared),
        "drifted": drifted,
        "share_drifted": share,
        "share_level": share_level,
        "status": status if status == INSUFFICIENT else worst([status, share_level]),
        "insufficient": [r["feature"] for r in rows if r["level"] == INSUFFICIENT],
        "min_rows": drift.min_rows,
        "min_rows_per_feature": drift.min_rows_per_feature,
        "correction": drift.correction,
    }
    if overall:
        summary["note"] = overall
    return summary, alerts


def _brief(result: dict[str, Any]) -> str:
    if result.get("p_value") is not None:
        return f"p={result['p_adjusted']:.3g} ({result['level']})"
    return f"{result['statistic']:.3f} ({result['level']})"


def prediction_drift(
    reference: dict[str, Any],
    labels: Any,
    scores: Any,
    settings: MonitoringConfig,
) -> tuple[dict[str, Any] | None, list[Alert]]:
    """The predicted classes and scores of current rows against validation's."""
    import pandas as pd

    profiles = {k: v for k, v in (reference.get("prediction") or {}).items() if isinstance(v, dict)}
    current: dict[str, Any] = {}
    if "label" in profiles and labels is not None:
        current["label"] = pd.Series(labels, dtype=object)
    if "score" in profiles and scores is not None:
        current["score"] = pd.Series(scores, dtype=float)
    if not current:
        return None, []
    frame = pd.DataFrame(current)
    rows = run_tests({k: profiles[k] for k in current}, frame, settings)
    alerts = [
        Alert(
            "drift",
            row["level"],
            f"the prediction distribution ({_OUTPUTS.get(row['feature'], row['feature'])}) "
            "moved away from validation's: "
            + ", ".join(f"{n} {_brief(t)}" for n, t in row["tests"].items() if t["level"] != "ok"),
            {"output": row["feature"]},
        )
        for row in rows
        if row["level"] in ("warn", "alert")
    ]
    level = judged_level(rows)
    return {"outputs": rows, "level": level}, alerts
