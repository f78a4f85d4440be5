"""Data quality of current rows: schema violations, missing features, missing shares that
rose over the reference, and categories never seen in training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlconf.config.monitoring import QualitySettings
from mlconf.core.errors import MlconfError
from mlconf.monitoring.drift import Alert

if TYPE_CHECKING:
    import pandas as pd


def _level(value: float, warn: float, alert: float) -> str:
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def check_quality(
    reference: dict[str, Any],
    frame: pd.DataFrame,
    schema: dict[str, Any] | None,
    settings: QualitySettings,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Alert]]:
    alerts: list[Alert] = []
    profiles: dict[str, dict[str, Any]] = reference["columns"]
    missing_features = [c for c in profiles if c not in frame.columns]
    for column in missing_features:
        alerts.append(
            Alert(
                "quality",
                "alert",
                f"feature '{column}' is missing from the current data; its drift is not computed",
                {"feature": column},
            )
        )
    columns: list[dict[str, Any]] = []
    for column, profile in profiles.items():
        if column not in frame.columns:
            continue
        series = frame[column]
        entry = _column_quality(column, profile, series, settings)
        columns.append(entry)
        for key, what in (("missing", "missing share"), ("new", "share of new categories")):
            level = entry.get(f"{key}_level", "ok")
            if level == "ok":
                continue
            if key == "missing":
                message = (
                    f"'{column}': missing share rose from {entry['reference_missing']:.1%} "
                    f"to {entry['missing_share']:.1%}"
                )
            else:
                shown = ", ".join(map(str, entry["new_categories"][:5]))
                message = f"'{column}': {entry['new_share']:.1%} of values are new ({shown})"
            alerts.append(Alert("quality", level, message, {"feature": column, what: entry}))
    violations = _violations(frame, schema, settings, seed)
    if violations.get("level", "ok") != "ok":
        alerts.append(
            Alert(
                "quality",
                violations["level"],
                f"{violations['rate']:.1%} of checked rows fail the schema "
                f"({violations['failed']} of {violations['checked']})",
                {k: v for k, v in violations.items() if k != "examples"},
            )
        )
    summary = {
        "rows": len(frame),
        "missing_features": missing_features,
        "columns": columns,
        "schema": violations,
    }
    return summary, alerts


def _column_quality(
    column: str, profile: dict[str, Any], series: pd.Series, settings: QualitySettings
) -> dict[str, Any]:
    import pandas as pd

    n = len(series)
    if profile["kind"] == "numeric":
        values = pd.to_numeric(series, errors="coerce")
        missing = int(values.isna().sum())
        unparsable = int(missing - series.isna().sum())
    else:
        missing = int(series.isna().sum())
        unparsable = 0
    share = missing / n if n else 0.0
    rise = share - float(profile.get("missing_share", 0.0))
    entry: dict[str, Any] = {
        "feature": column,
        "kind": profile["kind"],
        "missing_share": share,
        "reference_missing": float(profile.get("missing_share", 0.0)),
        "missing_level": _level(rise, settings.missing_warn, settings.missing_alert),
    }
    if unparsable:
        entry["unparsable"] = unparsable
    if profile["kind"] == "categorical" and profile.get("complete"):
        values = series.dropna().astype(str)
        known = values.isin(list(profile["categories"]))
        new = values[~known]
        entry["new_share"] = float(len(new) / len(values)) if len(values) else 0.0
        entry["new_categories"] = [str(v) for v in new.value_counts().index[:20]]
        entry["new_level"] = _level(
            entry["new_share"], settings.new_category_warn, settings.new_category_alert
        )
    return entry


def _violations(
    frame: pd.DataFrame, schema: dict[str, Any] | None, settings: QualitySettings, seed: int
) -> dict[str, Any]:
    """Rows failing the model's schema (checked on a sample of `max_rows`)."""
    from mlconf.ml.validation import validate

    if not schema or not schema.get("columns") or len(frame) == 0:
        return {"checked": 0, "failed": 0, "rate": 0.0, "level": "ok", "note": "no schema"}
    present = {k: v for k, v in schema["columns"].items() if k in frame.columns}
    if not present:
        return {"checked": 0, "failed": 0, "rate": 0.0, "level": "ok", "note": "no schema column"}
    sample = (
        frame
        if len(frame) <= settings.max_rows
        else frame.sample(settings.max_rows, random_state=seed)
    )
    cfg = {**schema, "columns": present, "on_error": "quarantine"}
    try:
        result = validate(sample[list(present)], cfg, source="current data", allow_empty=True)
    except MlconfError as exc:
        # Failures of whole columns (a wrong dtype everywhere, a column check) are not rows.
        return {
            "checked": len(sample),
            "failed": len(sample),
            "rate": 1.0,
            "level": "alert",
            "error": exc.what.splitlines()[0],
        }
    failed = result.n_quarantined
    rate = failed / len(sample)
    reasons: dict[str, int] = {}
    if len(result.failures):
        column = "column" if "column" in result.failures else result.failures.columns[0]
        reasons = {str(k): int(v) for k, v in result.failures[column].value_counts().items()}
    return {
        "checked": len(sample),
        "sampled": len(sample) < len(frame),
        "failed": failed,
        "rate": rate,
        "by_column": reasons,
        "level": _level(rate, settings.violation_warn, settings.violation_alert),
    }
