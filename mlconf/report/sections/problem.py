"""The problem section: the task as framed in `problem/` (target, metric, costs, usage)."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import bounds_text, fmt

OUTCOMES = {
    "tp": "true positive (a positive row flagged)",
    "fp": "false positive (a false alarm)",
    "fn": "false negative (a positive row missed)",
    "tn": "true negative (a negative row left alone)",
}
USAGES = {
    "real_time": "real time: one row at a time, behind an API",
    "batch": "batch: a file of rows at a time",
    "decision_support": "decision support: a person reads the prediction and decides",
}


def problem_section(config: dict[str, Any], metrics: Any) -> dict[str, Any]:
    """The problem as framed in `problem/`; the threshold only where one applies (binary)."""
    problem = config.get("problem") or {}
    criteria = problem.get("success_criteria") or {}
    threshold = problem.get("threshold") or {}
    costs = problem.get("costs") or {}
    usage = str(problem.get("usage") or "")
    optimize = threshold.get("optimize") if isinstance(threshold, dict) else None
    return {
        "task": problem.get("task"),
        "target": problem.get("target"),
        "positive_class": problem.get("positive_class"),
        "primary_metric": problem.get("primary_metric"),
        "objective": (problem.get("objective") or "").strip(),
        "stakeholders": [str(s) for s in problem.get("stakeholders") or []],
        "usage": USAGES.get(usage, usage.replace("_", " ")),
        "costs": [(OUTCOMES.get(k, k), fmt(v)) for k, v in costs.items()]
        if isinstance(costs, dict)
        else [],
        "threshold": threshold_goal(optimize)
        if (isinstance(metrics, dict) and isinstance(metrics.get("threshold"), dict))
        or optimize not in (None, "none")
        else None,
        "criteria": [
            (name, bounds_text(bounds)) for name, bounds in criteria.items() if bounds is not None
        ],
    }


def threshold_goal(optimize: Any) -> str:
    """How the decision threshold is to be chosen, from `problem.threshold.optimize`."""
    if optimize in (None, "none"):
        return "the model's own rule (probability 0.5)"
    if optimize == "cost":
        return "the least expected cost on validation data"
    return f"the best {optimize} on validation data"
