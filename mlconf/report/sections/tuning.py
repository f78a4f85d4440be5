"""The tuning part of the selection section: the Optuna trials, the best one found, the
overrides that reproduce it, and optuna's plots."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import MAX_TABLE_ROWS, fmt, table
from mlconf.report.run_files import RunFiles, as_dict

# The tune stage's plots: (file stem under plots/, title, caption).
TUNING_PLOTS = (
    (
        "optimization_history",
        "Tuning history",
        "Each dot is one tried setting; the line is the best score found so far.",
    ),
    (
        "param_importances",
        "Which settings mattered",
        "How much each tuned setting changed the score.",
    ),
)


def tuning_facts(trials: Any, best: Any, primary: str | None) -> dict[str, Any] | None:
    """The trials (a frame of trials.csv) and best_params.json as facts; None if not tuned."""
    if trials is None:
        return None
    states = trials["state"].value_counts().to_dict() if "state" in trials else {}
    best_value = None
    if isinstance(best, dict):
        best_value = best.get(primary) if primary in best else None
        if best_value is None:  # an older best_params.json: the one other number
            best_value = next(
                (v for k, v in best.items() if isinstance(v, float) and k != "trial"), None
            )
    return {
        "trials": len(trials),
        "states": ", ".join(f"{n} {s.lower()}" for s, n in states.items()),
        "best_params": [(k, fmt(v)) for k, v in ((best or {}).get("params") or {}).items()],
        "best_value": fmt(best_value),
        "best_trial": fmt(as_dict(best).get("trial")),
        "overrides": " ".join(str(o) for o in as_dict(best).get("overrides") or []),
        "table": table(trials.tail(MAX_TABLE_ROWS).to_dict("records")),
    }


def tuning_plots(files: RunFiles) -> list[dict[str, str]]:
    """The tune stage's plots that exist in the run folder."""
    return [
        {"path": f"plots/{name}.png", "title": title, "caption": caption}
        for name, title, caption in TUNING_PLOTS
        if files.exists(f"plots/{name}.png")
    ]
