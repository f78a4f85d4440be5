"""The interpretation section: permutation importance, SHAP values and partial dependence."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, sample_sentence, table
from mlconf.report.run_files import number, plots_of
from mlconf.report.sections.not_run import not_run


def interpretation_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or not doc.get("enabled", True):
        return {"present": False, "hint": not_run("interpretation")}
    if not doc.get("rows"):
        return {
            "present": False,
            "hint": "The explain stage ran but had no validation or test rows to explain.",
        }
    importance = [p for p in doc.get("permutation_importance") or [] if isinstance(p, dict)]
    importance.sort(key=lambda p: -(number(p.get("mean")) or 0.0))
    shap: dict[str, Any] = doc["shap"] if isinstance(doc.get("shap"), dict) else {}
    mean_abs = [s for s in shap.get("mean_abs") or [] if isinstance(s, dict)]
    method = {
        "tree": "exact TreeSHAP computed by xgboost",
        "sampled": "sampled (approximate) Shapley values",
    }.get(str(shap.get("method")), str(shap.get("method") or "-"))
    curves = [c for c in doc.get("partial_dependence") or [] if isinstance(c, dict)]
    drawn = [str(c.get("feature")) for c in curves if not c.get("skipped")]
    skipped = [(str(c.get("feature")), str(c.get("skipped"))) for c in curves if c.get("skipped")]
    outputs = sorted({str(c["output"]) for c in curves if c.get("output")})
    return {
        "present": True,
        "part": doc.get("part") or "-",
        "rows": fmt(doc.get("rows")),
        "sample": sample_sentence(doc.get("sample")),
        "metric": doc.get("metric") or "-",
        "repeats": fmt(doc.get("n_repeats")),
        "top": [str(p.get("feature")) for p in importance[:3]],
        "importance": table(importance, ["feature", "mean", "std"]),
        "shap_available": bool(shap.get("available")),
        "shap_reason": shap.get("reason"),
        "shap_method": method,
        "shap_explained": shap.get("explained") or "-",
        "shap_rows": fmt(shap.get("rows")),
        "shap_bias": fmt(shap.get("bias")),
        "shap": table(mean_abs, ["feature", "mean_abs"]),
        "pdp": drawn,
        "pdp_output": ", ".join(outputs),
        "pdp_skipped": skipped,
        "plots": plots_of(doc),
    }
