"""The explore stage's profiling against training 200 xgboost trees on the same data.

A synthetic frame (default 1M rows x 50 columns: 40 numeric with some missing values,
10 string categoricals, a binary target) is built in memory. Timed, once each:

- explore: what the `explore` stage does (profile + its four plots, default config);
- xgboost: `XGBClassifier(n_estimators=200, tree_method="hist")` fitted on the same
  frame (categoricals as pandas categories, `enable_categorical=True`).

Wall and CPU seconds are printed: on a shared machine the CPU ratio is the steadier one
(explore is mostly single-threaded, xgboost uses every core). The issue's target is
explore + report <= 0.5 x training; the report's own time is
measured by the report's benchmark. Results: benchmarks/README.md.

    python benchmarks/explore.py                 # 1M rows
    python benchmarks/explore.py --rows 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_NUMERIC = 40
N_CATEGORICAL = 10


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """Mixed numeric/categorical columns with missing values and a learnable binary target."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, N_NUMERIC)).astype("float64")
    logit = numeric[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.3])
    numeric[rng.uniform(size=(rows, N_NUMERIC)) < 0.03] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"num_{i:02d}" for i in range(N_NUMERIC)])
    for j in range(N_CATEGORICAL):
        levels = np.array([f"c{j}_{k}" for k in range(3 + 5 * j)])
        codes = rng.integers(0, len(levels), size=rows)
        frame[f"cat_{j}"] = pd.Series(levels[codes], dtype="str")
        if j < 2:
            logit += np.where(codes % 2 == 0, 0.5, -0.5)
    frame["target"] = np.where(logit + rng.logistic(size=rows) > 0, "yes", "no")
    return frame


def time_explore(frame: pd.DataFrame) -> tuple[float, float]:
    from mlconf.config import ExploreConfig
    from mlconf.ml.explore import profile_and_heatmap
    from mlconf.ml.explore.plots import save_profile_plots

    start, cpu = time.perf_counter(), time.process_time()
    result, heatmap = profile_and_heatmap(
        frame, target="target", task="classification", config=ExploreConfig(), seed=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plots" / "explore"
        folder.mkdir(parents=True)
        save_profile_plots(result, heatmap, folder, Path(tmp))
    return time.perf_counter() - start, time.process_time() - cpu


def time_xgboost(frame: pd.DataFrame) -> tuple[float, float]:
    import xgboost

    x = frame.drop(columns=["target"])
    for column in x.columns:
        if column.startswith("cat_"):
            x[column] = x[column].astype("category")
    y = (frame["target"] == "yes").to_numpy(dtype=int)
    model = xgboost.XGBClassifier(n_estimators=200, tree_method="hist", enable_categorical=True)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = synthetic(args.rows, args.seed)
    print(f"data: {len(frame):,} rows x {frame.shape[1] - 1} features + target")
    explore, explore_cpu = time_explore(frame)
    print(f"explore (profile + plots): {explore:.1f} s wall, {explore_cpu:.1f} s CPU")
    train, train_cpu = time_xgboost(frame)
    print(f"xgboost 200 trees (hist): {train:.1f} s wall, {train_cpu:.1f} s CPU")
    print(
        f"ratio explore / training: {explore / train:.2f} wall, {explore_cpu / train_cpu:.2f} "
        "CPU (target incl. report: <= 0.5)"
    )


if __name__ == "__main__":
    main()
