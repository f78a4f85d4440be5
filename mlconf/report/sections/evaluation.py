"""The evaluation sections: test metrics beside the dummy baseline with their intervals, the
success criteria, the decision threshold and costs; and the evaluate stage's plots and saved
predictions."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import bounds_text, fmt, interval
from mlconf.report.run_files import RunFiles, number, plots_of
from mlconf.report.sections.not_run import not_run
from mlconf.report.sections.problem import OUTCOMES


def metrics_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("evaluation")}
    test = doc.get("test") or {}
    validation = doc.get("validation") or {}
    model, baseline = test.get("model") or {}, test.get("baseline") or {}
    primary = doc.get("primary_metric")
    rows = []
    for name, item in model.items():
        item = item if isinstance(item, dict) else {}
        rows.append(
            {
                "name": name,
                "primary": name == primary,
                "value": fmt(item.get("value")),
                "interval": interval(item),
                "baseline": fmt((baseline.get(name) or {}).get("value")),
                "validation": fmt(((validation.get("model") or {}).get(name) or {}).get("value")),
            }
        )
    criteria = []
    for item in doc.get("success_criteria") or []:
        if not isinstance(item, dict):
            continue
        criteria.append(
            {
                "metric": item.get("metric"),
                "bound": bounds_text(item),
                "value": fmt(item.get("value")),
                "interval": interval(item),
                "passed": item.get("passed"),
                "confident": item.get("confident"),
                "statement": str(item.get("statement") or ""),
            }
        )
    cv = doc.get("cv") or {}
    cv_rows = [
        (name, fmt(v.get("mean")), fmt(v.get("std")), len(v.get("folds") or []))
        for name, v in cv.items()
        if isinstance(v, dict)
    ]
    costs: dict[str, Any] = doc["costs"] if isinstance(doc.get("costs"), dict) else {}
    return {
        "present": True,
        "primary": primary,
        "confidence": f"{number(doc.get('confidence')) or 0.0:.0%}",
        "bootstrap": fmt(doc.get("bootstrap")),
        "rows": rows,
        "criteria": criteria,
        "passed": doc.get("passed") if criteria else None,
        "cv": cv_rows,
        "threshold": threshold_facts(doc.get("threshold")),
        "costs": [(OUTCOMES.get(k, k).split(" (")[0], fmt(v)) for k, v in costs.items()],
        "expected_cost": expected_cost_rows(doc.get("expected_cost")),
    }


def threshold_facts(threshold: Any) -> dict[str, Any] | None:
    """The decision threshold in use and how it was chosen, in words (binary only)."""
    if not isinstance(threshold, dict) or threshold.get("value") is None:
        return None
    method = threshold.get("method")
    score_name = threshold.get("score_name") or threshold.get("optimize")
    if method == "cost":
        how = (
            f"chosen on {threshold.get('chosen_on', 'validation')} data "
            f"({fmt(threshold.get('rows'))} rows) for the least {score_name}: "
            f"{fmt(threshold.get('score'))}"
        )
    elif method == "metric":
        how = (
            f"chosen on {threshold.get('chosen_on', 'validation')} data "
            f"({fmt(threshold.get('rows'))} rows) for the best {score_name}: "
            f"{fmt(threshold.get('score'))}"
        )
    elif method == "fallback":
        how = f"kept at the default because none could be learned: {threshold.get('note')}"
    else:
        how = str(threshold.get("note") or "the model's own rule")
    return {
        "value": fmt(threshold.get("value")),
        "method": str(method or "-"),
        "how": how,
        "optimize": str(threshold.get("optimize") or "none"),
        "curve_points": len(threshold.get("curve") or []),
    }


def expected_cost_rows(doc: Any) -> list[dict[str, str]]:
    """Expected cost per row on validation and test: the model with its interval, the
    dummy baseline beside it."""
    if not isinstance(doc, dict):
        return []
    rows = []
    for part in ("validation", "test"):
        item = doc.get(part)
        if not isinstance(item, dict):
            continue
        model: dict[str, Any] = item["model"] if isinstance(item.get("model"), dict) else {}
        baseline: dict[str, Any] = (
            item["baseline"] if isinstance(item.get("baseline"), dict) else {}
        )
        rows.append(
            {
                "part": part,
                "value": fmt(model.get("value")),
                "interval": interval(model),
                "baseline": fmt(baseline.get("value")),
            }
        )
    return rows


def evaluation_section(files: RunFiles, metrics: Any) -> dict[str, Any]:
    """The evaluate stage's plots (listed in metrics.json) and its saved test predictions."""
    rel = "data/predictions.csv"
    if isinstance(metrics, dict) and isinstance(metrics.get("predictions"), str):
        rel = metrics["predictions"]
    columns = files.header(rel)
    counted = files.csv(rel, usecols=columns[:1]) if columns else None
    return {
        "plots": plots_of(metrics),
        "predictions": len(counted) if counted is not None else None,
        "predictions_file": rel,
        "prediction_columns": ", ".join(columns),
        "hint": not_run("evaluation"),
    }
