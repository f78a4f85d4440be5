"""Run folders for the report tests: a hand-made one (no training) and the artifacts of the
stages that live on other branches (profile, privacy, interpretation, fairness, evaluation
plots), written in the formats of the run-directory contract.

Every value that reaches the report carries hostile or non-ASCII text, so each section's
escaping is exercised: a column named `<script>alert(1)</script>`, an `<img onerror>` value,
`a|b` for Markdown tables, and German and Japanese names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
UMLAUT = "größe (cm)"
JAPANESE = "日本語の列"
CITY = "Zürich"
PIPE = "a|b"

# The report's sections, by id, in page order.
SECTIONS = [
    "glance",
    "problem",
    "data",
    "quality",
    "privacy",
    "eda",
    "features",
    "split",
    "selection",
    "metrics",
    "evaluation",
    "interpretation",
    "fairness",
    "compliance",
    "lineage",
]


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")


def png(path: Path, width_px: int = 400, title: str = "plot") -> None:
    """A small real PNG made with matplotlib (Agg, dpi 100)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(width_px / 100, 2.5), dpi=100)
    axes.plot([0, 1, 2], [0, 1, 0.5])
    axes.set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)


def plot_entry(run_dir: Path, rel: str, title: str, width_px: int = 400) -> dict[str, str]:
    png(run_dir / rel, width_px, title)
    return {"path": rel, "title": title, "caption": f"What {title} shows, in one sentence."}


def minimal_run(run_dir: Path) -> Path:
    """A run folder as `mlconf train` leaves it, written by hand: fast, no training."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(
        "\n".join(
            [
                "experiment_name: fixture",
                "seed: 7",
                "data:",
                "  name: fixture",
                "  id_columns: [kunden_id]",
                "schema:",
                "  on_error: quarantine",
                "  columns:",
                f"    '{UMLAUT}': {{dtype: float, min: 0}}",
                "problem:",
                "  task: classification",
                "  target: diagnose",
                "  positive_class: bösartig",
                "  primary_metric: roc_auc",
                f"  objective: 'Find {SCRIPT} early; Zürich clinics review them.'",
                "  stakeholders: [Ärztinnen, patients]",
                "  usage: decision_support",
                "  costs: {fn: 10, fp: 1}",
                "  success_criteria:",
                "    roc_auc: {min: 0.9}",
                "features:",
                "  column_sets:",
                "    numeric: {select: numeric, steps: [{name: impute}]}",
                "split:",
                "  method: holdout",
                "  test_size: 0.2",
                "data_url: postgresql://alice:s3cret@db.example/prod",
                "",
            ]
        ),
        encoding="utf-8",
    )
    write_json(
        run_dir / "run.json",
        {
            "experiment": "fixture",
            "seed": 7,
            "id": "abc123",
            "status": "succeeded",
            "started": "2026-01-01T00:00:00+00:00",
            "finished": "2026-01-01T00:01:00+00:00",
            "stages": {"load": 0.1, "validate": 0.01, "split": 0.02, "evaluate": 0.3},
            "fingerprints": {
                "main": {
                    "kind": "csv",
                    "location": "postgresql://alice:s3cret@db.example/prod",
                    "sha256": "f" * 64,
                    "rows": 10,
                    "columns": 4,
                }
            },
            "counts": {"rows_loaded": 10, "quarantined_rows": 2, "split": {"train": 6}},
            "warnings": [f"column {SCRIPT} looks odd"],
            "error": None,
            "versions": {"python": "3.11", "pandas": "3"},
            "git": {"commit": "0123abc", "dirty": True},
        },
    )
    metric = {"value": 0.95, "low": 0.9, "high": 0.99}
    write_json(
        run_dir / "metrics.json",
        {
            "task": "classification",
            "primary_metric": "roc_auc",
            "confidence": 0.95,
            "bootstrap": 20,
            "validation": {"model": {"roc_auc": metric}, "baseline": {"roc_auc": {"value": 0.5}}},
            "test": {"model": {"roc_auc": metric}, "baseline": {"roc_auc": {"value": 0.5}}},
            "cv": None,
            "success_criteria": [
                {
                    "metric": "roc_auc",
                    "min": 0.9,
                    "max": None,
                    **metric,
                    "passed": True,
                    "confident": True,
                }
            ],
            "passed": True,
        },
    )
    (run_dir / "data").mkdir(exist_ok=True)
    parts = ["train"] * 6 + ["validation", "test"] * 2
    pd.DataFrame({"row": range(10), "part": parts}).to_csv(run_dir / "data/split.csv", index=False)
    pd.DataFrame(
        {
            "_row": [3, 8],
            "_stage": ["validate", "validate"],
            "_reason": [f"{UMLAUT} below 0", f"{UMLAUT} below 0"],
            UMLAUT: [-1, -2],
        }
    ).to_csv(run_dir / "data" / "quarantine.csv", index=False)
    return run_dir


def add_stage_artifacts(run_dir: Path, wide_px: int = 400) -> dict[str, Any]:
    """The JSON + PNG artifacts of explore, privacy, explain, fairness and the evaluation
    plots, only where the run folder does not have them yet (after the merge, the real
    stages write them). Returns which plots were added."""
    added: dict[str, Any] = {}

    def missing(rel: str) -> bool:
        return not (run_dir / rel).is_file()

    if missing("data/profile.json"):
        write_json(
            run_dir / "data/profile.json",
            {
                "rows": 10,
                "sampled_rows": 10,
                "sampled": False,
                "columns": {
                    SCRIPT: {
                        "kind": "numeric",
                        "dtype": "float64",
                        "missing_share": 0.1,
                        "distinct": 9,
                        "stats": {"mean": 1.5, "min": 0, "max": 3},
                    },
                    "Stadt": {
                        "kind": "categorical",
                        "dtype": "str",
                        "missing_share": 0.0,
                        "distinct": 3,
                        "top_values": [{"value": CITY, "count": 5}, {"value": IMG, "count": 1}],
                    },
                },
                "target": {"kind": "categorical", "balance": {"bösartig": 4, "gutartig": 6}},
                "associations": [{"feature": SCRIPT, "mutual_info": 0.4, "correlation": 0.6}],
                "correlated_pairs": [{"a": SCRIPT, "b": JAPANESE, "correlation": 0.97}],
                "duplicates": 0,
                "outliers": {SCRIPT: 1},
                "warnings": [
                    {"column": JAPANESE, "kind": "constant", "message": f"{JAPANESE} has one value"}
                ],
                "plots": [
                    plot_entry(run_dir, "plots/explore/target.png", "Target balance", wide_px)
                ],
            },
        )
        added["eda"] = 1
    if missing("data/privacy.json"):
        write_json(
            run_dir / "data/privacy.json",
            {
                "findings": [
                    {
                        "column": "email",
                        "kind": "email",
                        "share": 0.9,
                        "examples_masked": ["a***@***.de"],
                        "policy": "hash",
                        "action": "hashed",
                    },
                ],
                "salt_env": "MLCONF_PII_SALT",
            },
        )
    if missing("interpretation.json"):
        write_json(
            run_dir / "interpretation.json",
            {
                "permutation_importance": [
                    {"feature": SCRIPT, "mean": 0.2, "std": 0.01},
                    {"feature": UMLAUT, "mean": 0.05, "std": 0.02},
                ],
                "shap": {"available": True, "top_features": [{"feature": SCRIPT, "mean_abs": 0.3}]},
                "partial_dependence": {"features": [SCRIPT]},
                "plots": [
                    plot_entry(run_dir, "plots/explain/importance.png", "Permutation importance")
                ],
            },
        )
        added["interpretation"] = 1
    if missing("fairness.json"):
        write_json(
            run_dir / "fairness.json",
            {
                "attributes": ["Stadt"],
                "groups": [
                    {
                        "attribute": "Stadt",
                        "group": CITY,
                        "count": 6,
                        "small": False,
                        "metrics": {"selection_rate": 0.5, "accuracy": 0.9},
                    },
                    {
                        "attribute": "Stadt",
                        "group": IMG,
                        "count": 1,
                        "small": True,
                        "metrics": {"selection_rate": 0.0, "accuracy": 1.0},
                    },
                ],
                "checks": [
                    {
                        "name": "demographic_parity_difference",
                        "value": 0.5,
                        "limit": 0.1,
                        "passed": False,
                    },
                    {"name": PIPE, "value": 0.9, "limit": 0.8, "passed": True},
                ],
                "passed": False,
                "plots": [plot_entry(run_dir, "plots/fairness/groups.png", "Groups")],
            },
        )
        added["fairness"] = 1
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if "plots" not in metrics:
        metrics["plots"] = [
            plot_entry(run_dir, "plots/evaluation/roc.png", "ROC curve"),
            plot_entry(run_dir, "plots/evaluation/confusion.png", "Confusion matrix"),
        ]
        write_json(run_dir / "metrics.json", metrics)
        added["evaluation"] = 2
    if missing("data/predictions.csv"):
        pd.DataFrame(
            {"row": [7, 9], "y_true": [1, 0], "y_pred": [1, 0], "score": [0.9, 0.2]}
        ).to_csv(run_dir / "data/predictions.csv", index=False)
    return added
