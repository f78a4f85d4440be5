"""The same work as the benchmark's `mlconf train` run, written as a plain script.

pandas + scikit-learn + xgboost and nothing else: read the CSV, split train / validation /
test with the same shares and seeds as mlconf's holdout splitter, fit the same
ColumnTransformer and XGBClassifier, and compute the point value of each of mlconf's
default classification metrics on validation and test. No bootstrap intervals, no dummy
baseline, no leakage checks, no run record, no saved model: those are what
`benchmarks/overhead.py` measures as mlconf's overhead.

    python benchmarks/plain.py --csv benchmarks/data/synthetic-s0-100000.csv --out m.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

TARGET = "target"


def build_pipeline(frame: pd.DataFrame, seed: int) -> Pipeline:
    """Median impute + scale numeric columns, most-frequent impute + one-hot the rest."""
    numeric = frame.select_dtypes("number").columns.tolist()
    categorical = [c for c in frame.columns if c not in numeric]
    features = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            ),
        ],
        remainder="drop",
    )
    model = XGBClassifier(
        n_estimators=200,
        max_depth=6,
        learning_rate=0.1,
        n_jobs=2,
        tree_method="hist",
        random_state=seed,
    )
    return Pipeline([("features", features), ("model", model)])


def point_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """mlconf's default classification metrics (conf/metrics/default.yaml), point values."""
    pred = (proba > 0.5).astype(int)  # XGBClassifier.predict's threshold
    return {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "f1": metrics.f1_score(y, pred),
        "precision": metrics.precision_score(y, pred, zero_division=0),
        "recall": metrics.recall_score(y, pred),
        "roc_auc": metrics.roc_auc_score(y, proba),
        "pr_auc": metrics.average_precision_score(y, proba),
        "log_loss": metrics.log_loss(y, proba),
        "brier": metrics.brier_score_loss(y, proba),
        "mcc": metrics.matthews_corrcoef(y, pred),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="write the metrics here as JSON")
    parser.add_argument("--seed", type=int, default=42, help="mlconf's default seed")
    args = parser.parse_args()

    frame = pd.read_csv(args.csv)
    y = frame[TARGET].to_numpy()
    x = frame.drop(columns=[TARGET])
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, random_state=args.seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.2, random_state=args.seed + 1, stratify=y_rest
    )
    pipeline = build_pipeline(x_train, args.seed).fit(x_train, y_train)
    result = {
        part: point_metrics(y_part, pipeline.predict_proba(x_part)[:, 1])
        for part, x_part, y_part in (("validation", x_val, y_val), ("test", x_test, y_test))
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
