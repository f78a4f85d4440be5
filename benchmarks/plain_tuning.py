"""The same Optuna study as the tuning benchmark's `mlconf train search=xgboost` run.

pandas + scikit-learn + xgboost + optuna and nothing else: read the CSV, take the training
part with the same shares and seeds as mlconf's holdout splitter (rows kept in file order,
as mlconf keeps them), and run a TPE study (seed 42, multivariate, grouped; no pruner) over
`conf/search/xgboost.yaml`'s space written by hand, each trial scored by the mean ROC AUC
of a stratified 3-fold CV. Then fit the best params on the training part and score
validation and test. No metric other than ROC AUC, no trials.csv, no plots, no run
record, no saved model: those are part of what `benchmarks/tuning.py` measures.

    python benchmarks/plain_tuning.py --csv benchmarks/data/tuning-v1-s0-100000.csv --out r.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

TARGET = "target"


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """conf/search/xgboost.yaml by hand, asked in mlconf's order (conditionals last)."""
    params: dict[str, Any] = {
        "n_estimators": trial.suggest_int("n_estimators", 50, 1000, step=50),
        "max_depth": trial.suggest_int("max_depth", 1, 10),
        "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.3, log=True),
        "subsample": trial.suggest_float("subsample", 0.3, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 1.0),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 20.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.001, 10.0, log=True),
        "grow_policy": trial.suggest_categorical("grow_policy", ["depthwise", "lossguide"]),
    }
    if params["grow_policy"] == "lossguide":
        params["max_leaves"] = trial.suggest_int("max_leaves", 4, 256, log=True)
    return params


def build_pipeline(
    numeric: list[str], params: dict[str, Any], seed: int, n_jobs: int = 2
) -> Pipeline:
    """Numeric columns passed through as a DataFrame (as features=native does), then xgboost.

    The fixed params are those of conf/model/xgboost.yaml and mlconf's xgboost factory.
    """
    features = ColumnTransformer(
        [("numeric", "passthrough", numeric)], remainder="drop"
    ).set_output(transform="pandas")
    model = XGBClassifier(
        enable_categorical=True,
        tree_method="hist",
        n_jobs=n_jobs,
        early_stopping_rounds=None,
        random_state=seed,
        **params,
    )
    return Pipeline([("features", features), ("model", model)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write trials and scores here as JSON")
    parser.add_argument("--seed", type=int, default=42, help="mlconf's default seed")
    parser.add_argument(
        "--n-jobs", type=int, default=2, help="xgboost threads (model.params.n_jobs)"
    )
    args = parser.parse_args()
    start = time.perf_counter()

    frame = pd.read_csv(args.csv)
    y = frame[TARGET].to_numpy()
    x = frame.drop(columns=[TARGET])
    numeric = x.select_dtypes("number").columns.tolist()
    positions = np.arange(len(frame))
    rest, test = train_test_split(positions, test_size=0.2, random_state=args.seed, stratify=y)
    train, validation = train_test_split(
        rest, test_size=0.2, random_state=args.seed + 1, stratify=y[rest]
    )
    train, validation, test = np.sort(train), np.sort(validation), np.sort(test)
    x_train, y_train = x.iloc[train], y[train]
    folds = list(
        StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed).split(
            x_train, y_train
        )
    )
    loaded = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        pipeline = build_pipeline(numeric, suggest(trial), args.seed, args.n_jobs)
        scores = []
        for fit_idx, val_idx in folds:
            fitted = clone(pipeline).fit(x_train.iloc[fit_idx], y_train[fit_idx])
            proba = fitted.predict_proba(x_train.iloc[val_idx])[:, 1]
            scores.append(roc_auc_score(y_train[val_idx], proba))
        return float(np.mean(scores))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=args.seed, multivariate=True, group=True)
    study = optuna.create_study(
        direction="maximize", sampler=sampler, pruner=optuna.pruners.NopPruner()
    )
    study.optimize(objective, n_trials=args.trials)
    tuned = time.perf_counter()

    best = build_pipeline(numeric, dict(study.best_params), args.seed, args.n_jobs).fit(
        x_train, y_train
    )
    result: dict[str, Any] = {
        "trials": [
            {"number": t.number, "value": t.value, "params": t.params} for t in study.trials
        ],
        "best_value": study.best_value,
        "best_params": study.best_params,
        "roc_auc": {
            part: roc_auc_score(y[rows], best.predict_proba(x.iloc[rows])[:, 1])
            for part, rows in (("validation", validation), ("test", test))
        },
    }
    done = time.perf_counter()
    result["seconds"] = {
        "load_split": loaded - start,
        "tune": tuned - loaded,
        "final": done - tuned,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
