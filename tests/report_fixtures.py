"""Run folders for the report tests: a hand-made one (no training) and the artifacts of the
later stages (profile, privacy, interpretation, fairness, evaluation plots and predictions),
in the formats the real stages write: each document below is a trimmed copy of a real run's
(`mlconf train problem.threshold.optimize=cost fairness=example` on a small people table),
and test_report.py checks its keys against a real run's so the two cannot drift apart.

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
                "  threshold: {optimize: cost}",
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
                    "statement": "roc_auc >= 0.9: met, 0.95 (95% interval 0.9 .. 0.99), "
                    "and the whole interval meets it",
                }
            ],
            "passed": True,
            "threshold": {
                "value": 0.3217,
                "optimize": "cost",
                "method": "cost",
                "chosen_on": "validation",
                "rows": 2,
                "score": 0.5,
                "score_name": "cost per row",
                "greater_is_better": False,
                "note": "",
                "curve": [{"threshold": 0.0, "score": 1.0}, {"threshold": 0.3217, "score": 0.5}],
            },
            "costs": {"tp": 0.0, "fp": 1.0, "fn": 10.0, "tn": 0.0},
            "expected_cost": {
                "validation": {
                    "model": {"value": 0.5, "low": 0.0, "high": 1.0},
                    "baseline": {"value": 5.0, "low": None, "high": None},
                },
                "test": {
                    "model": {"value": 0.2632, "low": 0.08772, "high": 0.6184},
                    "baseline": {"value": 3.684, "low": None, "high": None},
                },
            },
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


def add_stage_artifacts(run_dir: Path, wide_px: int = 400) -> list[str]:
    """The JSON + PNG artifacts of explore, privacy, explain, fairness and the evaluation
    plots, written only where the run folder does not have them. Returns the files written
    (relative paths): all of them on a hand-made run (`minimal_run`); on a real run, none,
    since its stages wrote them, and the callers assert so (a stage that stops writing its
    artifact must fail the report tests, not be papered over by this fixture)."""
    written: list[str] = []

    def missing(rel: str) -> bool:
        return not (run_dir / rel).is_file()

    def add(rel: str, make: Any) -> None:
        if missing(rel):
            write_json(run_dir / rel, make())
            written.append(rel)

    add("data/profile.json", lambda: profile_doc(run_dir, wide_px))
    add("data/privacy.json", privacy_doc)
    add("interpretation.json", lambda: interpretation_doc(run_dir))
    add("fairness.json", lambda: fairness_doc(run_dir))
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if "plots" not in metrics:
        metrics["predictions"] = "data/predictions.csv"
        metrics["plots"] = [
            plot_entry(run_dir, "plots/evaluation/roc.png", "ROC curve"),
            plot_entry(run_dir, "plots/evaluation/confusion.png", "Confusion matrix"),
        ]
        write_json(run_dir / "metrics.json", metrics)
        written.append("metrics.json (plots)")
    if missing("data/predictions.csv"):
        pd.DataFrame(
            {
                "row": [7, 9],
                "y_true": ["bösartig", "gutartig"],
                "y_pred": ["bösartig", "gutartig"],
                "proba_gutartig": [0.1, 0.8],
                "proba_bösartig": [0.9, 0.2],
            }
        ).to_csv(run_dir / "data/predictions.csv", index=False)
        written.append("data/predictions.csv")
    return written


def profile_doc(run_dir: Path, wide_px: int = 400) -> dict[str, Any]:
    """data/profile.json as the explore stage writes it (classification target)."""
    return {
        "rows": 10,
        "sampled": False,
        "sampled_rows": 10,
        "columns": {
            SCRIPT: {
                "kind": "numeric",
                "dtype": "float64",
                "missing_share": 0.1,
                "distinct": 9,
                "stats": {
                    "mean": 1.5,
                    "std": 0.5,
                    "min": 0.0,
                    "q25": 1.0,
                    "median": 1.5,
                    "q75": 2.0,
                    "max": 3.0,
                },
                "histogram": {"edges": [0.0, 1.5, 3.0], "counts": [4, 5]},
            },
            "Stadt": {
                "kind": "categorical",
                "dtype": "str",
                "missing_share": 0.0,
                "distinct": 3,
                "top_values": [{"value": CITY, "count": 5}, {"value": IMG, "count": 1}],
            },
        },
        "target": {
            "name": "diagnose",
            "task": "classification",
            "missing": 0,
            "classes": [
                {"value": "gutartig", "count": 6, "share": 0.6},
                {"value": "bösartig", "count": 4, "share": 0.4},
            ],
            "n_classes": 2,
            "minority_share": 0.4,
            "imbalance_ratio": 1.5,
            "entropy": 0.673,
        },
        "associations": [
            {
                "feature": SCRIPT,
                "mutual_info": 0.4,
                "pearson": 0.6,
                "spearman": 0.55,
                "correlation": 0.6,
            }
        ],
        "correlated_pairs": [{"a": SCRIPT, "b": JAPANESE, "correlation": 0.97}],
        "duplicates": {"rows": 0, "share": 0.0},
        "outliers": {"method": "iqr x 1.5", "rows": 1, "columns": {SCRIPT: 1}},
        "warnings": [
            {"column": JAPANESE, "kind": "constant", "message": f"{JAPANESE} has one value"}
        ],
        "plots": [plot_entry(run_dir, "plots/explore/target.png", "Target balance", wide_px)],
    }


def privacy_doc() -> dict[str, Any]:
    """data/privacy.json as the privacy stage writes it: one hashed finding."""
    return {
        "scan": True,
        "sample_rows": 10000,
        "min_share": 0.3,
        "policy": {
            "email": "hash",
            "phone": "fail",
            "card": "fail",
            "national_id": "fail",
            "ip": "fail",
            "name": "fail",
        },
        "columns": {},
        "salt_env": "MLCONF_PII_SALT",
        "columns_scanned": 4,
        "findings": [
            {
                "column": "email",
                "kind": "email",
                "share": 0.9,
                "examples_masked": ["a***@***.de"],
                "policy": "hash",
                "action": "hash",
            },
        ],
        "actions": {"drop": [], "hash": ["email"]},
    }


# The most important column of the fixture interpretation (first by permutation importance).
TOP_FEATURE = SCRIPT


def interpretation_doc(run_dir: Path) -> dict[str, Any]:
    """interpretation.json as the explain stage writes it (explain.enabled, xgboost)."""
    return {
        "enabled": True,
        "part": "validation",
        "rows": 2,
        "metric": "roc_auc",
        "n_repeats": 5,
        "sample": {
            "rows": 2,
            "of": 2,
            "sampled": False,
            "share_margin_95": 0.0,
            "meaning": "permutation importance, contributions and partial dependence use 2 "
            "of the 2 validation rows",
        },
        "permutation_importance": [
            {"feature": UMLAUT, "mean": 0.05, "std": 0.02},
            {"feature": TOP_FEATURE, "mean": 0.2, "std": 0.01},
            {"feature": JAPANESE, "mean": -0.001, "std": 0.003},
        ],
        "shap": {
            "available": True,
            "method": "tree",
            "exact": True,
            "units": "margin",
            "explained": "the log-odds of class 'bösartig'",
            "rows": 2,
            "bias": -0.535,
            "mean_abs": [
                {"feature": UMLAUT, "mean_abs": 0.8456},
                {"feature": TOP_FEATURE, "mean_abs": 0.4519},
            ],
            "feature_sources": {f"numeric__{UMLAUT}": [UMLAUT]},
        },
        "partial_dependence": [
            {
                "feature": TOP_FEATURE,
                "categorical": False,
                "output": "probability of 'bösartig'",
                "grid": [0.1, 0.2],
                "average": [[0.3, 0.4]],
            },
            {"feature": JAPANESE, "skipped": "fewer than two values, or a date"},
        ],
        "seconds": {"permutation_importance": 0.1, "contributions": 0.1, "partial_dependence": 0.1},
        "plots": [
            plot_entry(
                run_dir, "plots/explain/permutation_importance.png", "Permutation importance"
            )
        ],
    }


BROKEN = "broken"


def fairness_doc(run_dir: Path) -> dict[str, Any]:
    """fairness.json as the fairness stage writes it: one attribute with a small group, one
    check confirmed broken, one that cannot be confirmed, one without a limit (hostile names
    in groups and checks)."""

    def group(name: str, count: int, small: bool, rate: float, accuracy: float) -> dict:
        return {
            "attribute": "Stadt",
            "columns": ["Stadt"],
            "group": name,
            "count": count,
            "small": small,
            "selection_rate": rate,
            "true_positive_rate": 1.0,
            "false_positive_rate": None,
            "accuracy": accuracy,
            "positives": 2.0,
            "note": "no negative rows, so the false positive rate is undefined",
        }

    def check(
        name: str,
        value: float,
        limit: float | None,
        kind: str,
        passed: bool | None,
        interval: tuple[float, float] | None,
        verdict: str,
    ) -> dict[str, Any]:
        low, high = interval or (None, None)
        return {
            "attribute": "Stadt",
            "name": name,
            "value": value,
            "low": low,
            "high": high,
            "value_all_groups": value,
            "limit": limit,
            "limit_is": kind,
            "passed": passed,
            "rows": 6,
            "note": None,
            "verdict": verdict,
            "statement": f"{name}: {verdict} (cannot be confirmed either way on 6 rows)"
            if verdict == "cannot confirm"
            else f"{name}: {verdict}",
        }

    return {
        "configured": True,
        "part": "test",
        "rows": 7,
        "task": "classification",
        "positive_class": "bösartig",
        "min_group_size": 2,
        "attributes": [
            {
                "attribute": "Stadt",
                "columns": ["Stadt"],
                "use_as_feature": False,
                "groups": 2,
                "small_groups": [IMG],
            }
        ],
        "groups": [group(CITY, 6, False, 0.5, 0.9), group(IMG, 1, True, 0.0, 1.0)],
        "checks": [
            check("demographic_parity_difference", 0.5, 0.1, "maximum", False, (0.3, 0.7), BROKEN),
            check(PIPE, 0.9, 0.8, "minimum", True, (0.6, 1.0), "cannot confirm"),
            check("accuracy_difference", 0.1, None, "maximum", None, None, "not checked"),
        ],
        "passed": False,
        "verdict": "broken",
        "confidence": 0.95,
        "bootstrap": 200,
        "on_fail": "warn",
        "note": None,
        "plots": [plot_entry(run_dir, "plots/fairness/Stadt.png", "Groups of Stadt")],
    }


def key_shape(value: Any) -> Any:
    """The keys of a JSON document, recursively (list items merged), for format checks."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            shape = key_shape(item)
            if isinstance(shape, dict):
                merged.update(shape)
        return [merged] if merged else []
    return None


def stage_run(run_dir: Path) -> Path:
    """A hand-made run folder with every later stage's artifacts."""
    minimal_run(run_dir)
    add_stage_artifacts(run_dir)
    return run_dir


def html_of(run_dir: Path, **options: int) -> str:
    """Build the run's report.html and read it back."""
    from mlconf.report import build_report

    return build_report(run_dir, **options).read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    """The text of one `<section id=...>` of a report page."""
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]
