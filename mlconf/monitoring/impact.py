"""Impact, fairness and security in production: what the model does to the people it is used on.

- usage: predictions per day, overall and per segment (a configured input column);
- decisions: the share of each predicted class (or the mean prediction) overall and per
  segment, and how often feedback agrees with the prediction;
- fairness: group metrics and the configured limits (mlconf.ml.fairness) on labelled
  production rows, for each sensitive attribute present in the logged inputs;
- security: PII found in the incoming inputs (mlconf.ml.privacy detectors), and the model
  artifact's integrity re-checked against its registered sha256.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mlconf.config.monitor_loop import ImpactSettings
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import FairnessConfig

DEFAULTS: dict[str, Any] = asdict(ImpactSettings())


def inputs_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """The logged inputs (JSON per row) as columns."""
    import json

    import pandas as pd

    rows = [json.loads(x) if isinstance(x, str) else dict(x) for x in predictions["inputs"]]
    return pd.DataFrame(rows, index=predictions.index)


def _predicted(predictions: pd.DataFrame) -> pd.Series:
    import json

    import pandas as pd

    values = [
        (json.loads(x) if isinstance(x, str) else x).get("prediction")
        for x in predictions["outputs"]
    ]
    return pd.Series(values, index=predictions.index, dtype=object)


def usage(predictions: pd.DataFrame, task: str, segment: str | None, limit: int) -> dict[str, Any]:
    """Predictions per day and decision rates, overall and per segment."""
    predicted = _predicted(predictions)
    per_day = predictions["created_at"].dt.strftime("%Y-%m-%d").value_counts().sort_index()
    out: dict[str, Any] = {
        "predictions": len(predictions),
        "per_day": {str(k): int(v) for k, v in per_day.items()},
        "decisions": _rates(predicted, task),
        "segment": segment,
        "segments": [],
    }
    if segment:
        inputs = inputs_frame(predictions)
        if segment not in inputs.columns:
            raise MlconfError(
                f"segment column '{segment}' is not among the logged inputs "
                f"({', '.join(map(str, inputs.columns[:20]))})",
                where="config key monitoring.impact.segment",
                fix="name an input column of the model, or set it to null",
            )
        keys = (
            inputs[segment].astype(object).where(inputs[segment].notna(), "(missing)").astype(str)
        )
        for key, count in keys.value_counts().head(limit).items():
            rows = keys == key
            out["segments"].append(
                {
                    "segment": str(key),
                    "predictions": int(count),
                    "decisions": _rates(predicted[rows], task),
                }
            )
    return out


def _rates(predicted: pd.Series, task: str) -> dict[str, Any]:
    if len(predicted) == 0:
        return {}
    if task == "regression":
        values = predicted.astype(float)
        return {"mean": float(values.mean()), "std": float(values.std(ddof=0))}
    shares = predicted.astype(str).value_counts(normalize=True).sort_index()
    return {str(k): float(v) for k, v in shares.items()}


def agreement(labelled: pd.DataFrame, task: str) -> dict[str, Any]:
    """How often the outcome agrees with the prediction (classification), or the error."""
    import numpy as np

    if len(labelled) == 0:
        return {"rows": 0}
    if task == "regression":
        error = np.asarray(labelled["outcome"], dtype=float) - np.asarray(
            labelled["prediction"], dtype=float
        )
        return {
            "rows": len(labelled),
            "mean_error": float(error.mean()),
            "mae": float(abs(error).mean()),
        }
    same = (
        labelled["prediction"].astype(str).to_numpy() == labelled["outcome"].astype(str).to_numpy()
    )
    return {"rows": len(labelled), "agreement": float(same.mean())}


def production_fairness(
    labelled: pd.DataFrame,
    conf: FairnessConfig,
    *,
    task: str,
    classes: list[Any],
    positive_class: Any,
) -> dict[str, Any]:
    """Group metrics and checks on labelled production rows (the sensitive columns must be
    among the logged inputs)."""
    from dataclasses import replace

    import numpy as np

    from mlconf.ml.fairness.metrics import assess, groups_json

    wanted = [a.column for a in conf.sensitive]
    if not wanted:
        return {"configured": False, "note": "no sensitive attributes (fairness.sensitive)"}
    if len(labelled) == 0:
        return {"configured": True, "rows": 0, "passed": None, "note": "no labelled rows yet"}
    inputs = inputs_frame(labelled)
    present = [a for a in conf.sensitive if a.column in inputs.columns]
    absent = [c for c in wanted if c not in inputs.columns]
    note = (
        f"not in the logged inputs, so not assessed: {', '.join(absent)} (send them with each "
        "request, or use them as features)"
        if absent
        else None
    )
    if not present:
        return {"configured": True, "rows": len(labelled), "passed": None, "note": note}
    binary = task == "classification" and (len(classes) == 2 or positive_class is not None)
    if task == "classification":
        truth = labelled["outcome"].astype(str).to_numpy()
        pred = labelled["prediction"].astype(str).to_numpy()
        if binary:
            positive = str(positive_class if positive_class is not None else classes[-1])
            y_true: Any = (truth == positive).astype(int)
            y_pred: Any = (pred == positive).astype(int)
        else:
            order = {str(c): i for i, c in enumerate(classes)}
            y_true = np.asarray([order[t] for t in truth])
            y_pred = np.asarray([order.get(p, -1) for p in pred])
    else:
        y_true = labelled["outcome"].to_numpy(dtype=float)
        y_pred = labelled["prediction"].to_numpy(dtype=float)
    narrowed = replace(
        conf,
        sensitive=present,
        intersections=[g for g in conf.intersections if all(c in inputs.columns for c in g)],
    )
    results = assess(y_true, y_pred, inputs, narrowed, task=task, binary=binary)
    checks = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in c.items()}
        for r in results
        for c in r.checks
    ]
    judged = [c["passed"] for c in checks if c["passed"] is not None]
    return {
        "configured": True,
        "rows": len(labelled),
        "groups": [g for r in results for g in groups_json(r)],
        "checks": checks,
        "passed": all(judged) if judged else None,
        "note": note,
    }


def fairness_alerts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """An alert per failed fairness check of `production_fairness`."""
    return [
        {
            "kind": "fairness",
            "level": "alert",
            "message": f"fairness in production: {check['attribute']} {check['name']} is "
            f"{check['value']:.3g} (limit {check['limit_is']} {check['limit']})",
            "numbers": {k: check[k] for k in ("attribute", "name", "value", "limit")},
        }
        for check in result.get("checks", [])
        if check["passed"] is False
    ]


def pii_findings(predictions: pd.DataFrame, min_share: float) -> list[dict[str, Any]]:
    """Columns of the incoming inputs whose values look like personal data."""
    from mlconf.ml.privacy.detect import is_text, mask, scan_column

    inputs = inputs_frame(predictions)
    findings = []
    for column in inputs.columns:
        series = inputs[column]
        if not is_text(series):
            continue
        for kind, (share, examples) in scan_column(column, series).items():
            if share >= min_share:
                findings.append(
                    {
                        "column": str(column),
                        "kind": kind,
                        "share": share,
                        "examples_masked": [mask(str(e), kind) for e in examples[:3]],
                    }
                )
    return findings


def integrity(model_ref: str, registry_url: str) -> dict[str, Any]:
    """Load the model through the registry: its files must match the registered sha256."""
    from mlconf.store.model_registry import open_model

    try:
        model, version = open_model(model_ref, registry_url)
    except MlconfError as exc:
        return {"ok": False, "model": model_ref, "message": exc.render()}
    digest = version.sha256 if version else model.manifest.get("files", {}).get("pipeline")
    return {"ok": True, "model": version.ref if version else model_ref, "sha256": digest}


def impact(
    predictions: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    task: str,
    classes: list[Any],
    positive_class: Any,
    fairness_conf: FairnessConfig | None,
    settings: dict[str, Any] | None = None,
    integrity_of: tuple[str, str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The impact section (usage, decisions, agreement, fairness, security) and its alerts."""
    conf = {**DEFAULTS, **(settings or {})}
    out: dict[str, Any] = {
        "usage": usage(predictions, task, conf.get("segment"), int(conf["max_segments"])),
        "agreement": agreement(labelled, task),
    }
    alerts: list[dict[str, Any]] = []
    if fairness_conf is not None:
        out["fairness"] = production_fairness(
            labelled, fairness_conf, task=task, classes=classes, positive_class=positive_class
        )
        alerts += fairness_alerts(out["fairness"])
    findings = pii_findings(predictions, float(conf["pii_min_share"])) if len(predictions) else []
    out["security"] = {"pii": findings}
    for finding in findings:
        alerts.append(
            {
                "kind": "security",
                "level": "warn",
                "message": f"input column '{finding['column']}' carries {finding['kind']} values "
                f"({finding['share']:.0%} of them)",
                "numbers": {k: finding[k] for k in ("column", "kind", "share")},
            }
        )
    if integrity_of is not None:
        checked = integrity(*integrity_of)
        out["security"]["integrity"] = checked
        if not checked["ok"]:
            alerts.append(
                {
                    "kind": "security",
                    "level": "alert",
                    "message": f"model artifact integrity check failed: {checked['message']}",
                    "numbers": {"model": checked["model"]},
                }
            )
    return out, alerts
