"""Permutation importance: mlconf's (explain stage) against scikit-learn's, same work.

The default run's pipeline (features=basic: imputing, scaling, one-hot levels; xgboost
with the overhead benchmark's parameters) is fitted on a synthetic table (that of
benchmarks/explore.py: 40 numeric columns with missing values, 10 string categoricals).
Then both compute the importance of every column on the same `--rows` rows (the explain
stage's default sample is 1,000), `--repeats` shuffles each, the same metric (ROC AUC),
the same seed: scikit-learn's `sklearn.inspection.permutation_importance` on the whole
pipeline, and `mlconf.ml.interpret.importance.permutation_importance`. The two must give
the same numbers (checked before anything is timed). They alternate, `--rounds` times,
in this one process; wall and CPU seconds per round and the ratio of the medians are
printed. Results: benchmarks/README.md.

    python benchmarks/permutation_importance.py
    python benchmarks/permutation_importance.py --rows 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explore import synthetic


def fitted_pipeline(train_rows: int) -> tuple[Any, Any, np.ndarray]:
    """The basic-features xgboost pipeline fitted on `train_rows`; its input and target."""
    from omegaconf import OmegaConf

    from mlconf.config import FeaturesConfig, ModelConfig
    from mlconf.core.paths import conf_dir
    from mlconf.ml.pipeline import build_pipeline

    frame = synthetic(train_rows, seed=1)
    x, y = frame.drop(columns=["target"]), (frame["target"] == "yes").to_numpy(int)
    node = OmegaConf.merge(
        OmegaConf.structured(FeaturesConfig), OmegaConf.load(conf_dir() / "features/basic.yaml")
    )
    features = OmegaConf.to_object(node)
    assert isinstance(features, FeaturesConfig)
    params = {"n_estimators": 200, "max_depth": 6, "learning_rate": 0.1, "tree_method": "hist"}
    model = ModelConfig(name="xgboost", params={**params, "n_jobs": 2})
    return build_pipeline(features, model, task="classification").fit(x, y), x, y


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - start, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows scored (explain.max_rows)")
    parser.add_argument("--repeats", type=int, default=3, help="shuffles (explain.n_repeats)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds")
    parser.add_argument("--train-rows", type=int, default=20_000)
    args = parser.parse_args()

    from sklearn.inspection import permutation_importance as sklearn_importance
    from sklearn.metrics import roc_auc_score

    from mlconf.ml.interpret.importance import permutation_importance

    pipeline, x, y = fitted_pipeline(args.train_rows)
    rows, target = x.head(args.rows).reset_index(drop=True), y[: args.rows]

    def with_mlconf() -> dict[str, float]:
        found = permutation_importance(
            pipeline, rows, target, metric="roc_auc", task="classification",
            labels=[0, 1], n_repeats=args.repeats, seed=0,
        )  # fmt: skip
        return {r["feature"]: r["mean"] for r in found}

    def with_sklearn() -> dict[str, float]:
        found = sklearn_importance(
            pipeline, rows, target, n_repeats=args.repeats, random_state=0,
            scoring=lambda est, xx, yy: roc_auc_score(yy, est.predict_proba(xx)[:, 1]),
        )  # fmt: skip
        return dict(zip(rows.columns, found.importances_mean, strict=True))

    mine, theirs = with_mlconf(), with_sklearn()  # also warms both up
    worst = max(abs(mine[c] - theirs[c]) for c in rows.columns)
    assert worst < 1e-12, f"the importances differ by {worst}"
    print(f"{len(rows):,} rows x {rows.shape[1]} columns, {args.repeats} shuffles each; "
          f"same importances (largest difference {worst:.1e})")  # fmt: skip
    sides: dict[str, list[tuple[float, float]]] = {"mlconf": [], "scikit-learn": []}
    for round_ in range(args.rounds):
        order = [("mlconf", with_mlconf), ("scikit-learn", with_sklearn)]
        for name, work in order if round_ % 2 == 0 else order[::-1]:
            wall, cpu, _ = timed(work)
            sides[name].append((wall, cpu))
            print(f"round {round_ + 1} {name:>12}: {wall:6.2f} s wall {cpu:6.2f} s CPU")
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in sides.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in sides.items()}
    print(f"median wall: mlconf {wall['mlconf']:.2f} s, scikit-learn {wall['scikit-learn']:.2f} s,"
          f" ratio {wall['mlconf'] / wall['scikit-learn']:.2f}")  # fmt: skip
    print(f"median CPU:  mlconf {cpu['mlconf']:.2f} s, scikit-learn {cpu['scikit-learn']:.2f} s,"
          f" ratio {cpu['mlconf'] / cpu['scikit-learn']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
