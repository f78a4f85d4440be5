"""What `tracker=mlflow` costs a run, against the same logging written by hand with MLflow.

Trains one breast_cancer run (with its report), then logs that run folder to one SQLite
MLflow store, alternating: mlconf's tracker (`MlflowTracker.log_run`) and a hand-written
script with MLflow's fluent API that logs the same parameters, metrics, tags and files.
Same process, same store, same timer; the median of `--repeat` rounds and the ratio.

    python benchmarks/tracking.py --repeat 5

Method and results: benchmarks/README.md ("Tracking to MLflow"). Needs the mlflow extra.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

# A run with a report and plots, and no registry (nothing written outside the scratch folder).
OVERRIDES = [
    "model.params.n_estimators=20",
    "metrics.bootstrap=20",
    "stages=[load,validate,prepare,split,train,evaluate,explain,save,report]",
]


def _train(folder: Path) -> Any:
    from mlconf.api import train

    return train(overrides=OVERRIDES, run_dir=folder)


def _by_hand(uri: str, run_dir: Path, params: dict[str, str], metrics: dict[str, float]) -> None:
    """What a user would write: fluent MLflow calls over the same content."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("by_hand")
    with mlflow.start_run(run_name=run_dir.name):
        items = list(params.items())
        for start in range(0, len(items), 100):
            mlflow.log_params(dict(items[start : start + 100]))
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"mlconf.run_dir": str(run_dir)})
        for name in ("report.html", "model_card.md", "metrics.json", "run.json"):
            if (run_dir / name).is_file():
                mlflow.log_artifact(str(run_dir / name))
        mlflow.log_artifacts(str(run_dir / "plots"), artifact_path="plots")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from mlconf.components.trackers import flatten, run_metrics, tracked_run
    from mlconf.components.trackers.mlflow_tracker import MlflowTracker
    from mlconf.runner import typed
    from mlconf.store.runs import RunRecord

    with tempfile.TemporaryDirectory(prefix="mlconf-bench-tracking-") as scratch:
        root = Path(scratch)
        run = _train(root / "run")
        from mlconf.config.compose import compose

        conf = typed(compose("train", OVERRIDES))
        record = RunRecord(run_dir=run.run_dir, experiment="bench", seed=42)
        record.status = "succeeded"
        tracked = tracked_run(run.run_dir, record, conf)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        tracker = MlflowTracker(uri, experiment="mlconf")
        tracker.check()  # creates the tables once, outside the timing
        params, metrics = flatten(tracked.config), run_metrics(tracked.metrics)
        times: dict[str, list[float]] = {"mlconf tracker": [], "hand-written MLflow": []}
        for _ in range(args.repeat):
            for name, job in (
                ("mlconf tracker", lambda: tracker.log_run(tracked)),
                ("hand-written MLflow", lambda: _by_hand(uri, run.run_dir, params, metrics)),
            ):
                start = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - start)
        print(f"params {len(params)}, metrics {len(metrics)}, rounds {args.repeat}")
        for name, values in times.items():
            print(f"{name:22} median {statistics.median(values):.3f} s  all {values}")
        ratio = statistics.median(times["mlconf tracker"]) / statistics.median(
            times["hand-written MLflow"]
        )
        print(f"ratio mlconf / hand-written: {ratio:.2f}")


if __name__ == "__main__":
    main()
