"""`mlconf train` on pandas, the same run on a 2-worker Dask LocalCluster, and plain xgboost.

On the synthetic 1M x 50 table of benchmarks/overhead.py (the same cached CSV), each
contender runs in its own child process, `--repeat` times, in rotating order:

- `pandas`: `mlconf train experiment=bench` (model=xgboost, 2 threads);
- `dask`: the same run with `model=xgboost_dask cluster=local` (a LocalCluster of 2 worker
  processes x 1 thread, started and closed by the run; xgboost.dask trains on it);
- `plain`: benchmarks/plain.py (pandas + scikit-learn + xgboost, no mlconf).

It prints the medians of wall time, CPU time of the child and its peak RSS (the largest
single process, so a worker's memory is not added to the client's), mlconf's train-stage
seconds, the test ROC AUC and the ratios. On 2 cores Dask is not expected to win: the
cluster moves the training rows to other processes and splits 2 cores between them; what
it buys is memory beyond one process and more machines.

    python benchmarks/scale.py                 # 1M rows, 3 runs each
    python benchmarks/scale.py --rows 100000 --repeat 1

Results: benchmarks/README.md ("Scaling"). Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overhead import (
    RESULTS_DIR,
    Measured,
    dataset,
    machine,
    measure,
    mlconf_command,
    plain_command,
    wait_for_quiet,
    warm_page_cache,
)

CONTENDERS = ("pandas", "dask", "plain")
DASK = [
    "model=xgboost_dask",
    "cluster=local",
    "cluster.n_workers=2",
    "cluster.threads_per_worker=1",
    # the pandas run's xgboost uses 2 threads; here each of the 2 workers uses 1
    "model.params.n_jobs=1",
]


def run_one(who: str, csv: Path, out: Path, i: int) -> tuple[Measured, dict[str, Any]]:
    """One child; its measurements and what it reported (train seconds, test AUC)."""
    log = out / f"{who}-{i}.log"
    if who == "plain":
        metrics_path = out / f"plain-metrics-{i}.json"
        result = measure(plain_command(csv, metrics_path), log)
        _check(who, result, log)
        auc = json.loads(metrics_path.read_text())["test"]["roc_auc"]
        return result, {"test_roc_auc": auc}
    run_dir = out / f"{who}-run-{i}"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = mlconf_command(csv, run_dir) + (DASK if who == "dask" else [])
    result = measure(command, log)
    _check(who, result, log)
    record = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return result, {
        "train_s": record["stages"]["train"],
        "stages_s": record["stages"],
        "test_roc_auc": metrics["test"]["model"]["roc_auc"]["value"],
    }


def _check(who: str, result: Measured, log: Path) -> None:
    if result.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise SystemExit(f"{who} exited with {result.returncode}; end of {log}:\n{tail}")


def summary(runs: dict[str, list[tuple[Measured, dict[str, Any]]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for who, items in runs.items():
        measured = [m for m, _ in items]
        info = [r for _, r in items]
        out[who] = {
            "wall_s": statistics.median(m.wall_s for m in measured),
            "wall_min_s": min(m.wall_s for m in measured),
            "cpu_s": statistics.median(m.cpu_s for m in measured),
            "peak_rss_mb": statistics.median(m.peak_rss_mb for m in measured),
            "test_roc_auc": info[-1]["test_roc_auc"],
            "train_s": (
                statistics.median(r["train_s"] for r in info) if "train_s" in info[0] else None
            ),
            "runs": [{**asdict(m), **r} for m, r in items],
        }
    return out


def report(result: dict[str, Any]) -> str:
    lines = [
        "| contender | wall s (median) | best wall s | train stage s | CPU s | peak RSS MB "
        "| test ROC AUC |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for who in CONTENDERS:
        r = result[who]
        train = f"{r['train_s']:.1f}" if r["train_s"] is not None else "-"
        lines.append(
            f"| {who} | {r['wall_s']:.1f} | {r['wall_min_s']:.1f} | {train} | {r['cpu_s']:.1f} "
            f"| {r['peak_rss_mb']:.0f} | {r['test_roc_auc']:.4f} |"
        )
    p, d, x = result["pandas"], result["dask"], result["plain"]
    lines += [
        "",
        f"wall ratio mlconf pandas / plain xgboost: {p['wall_s'] / x['wall_s']:.2f}",
        f"wall ratio mlconf dask   / plain xgboost: {d['wall_s'] / x['wall_s']:.2f}",
        f"wall ratio mlconf dask   / mlconf pandas: {d['wall_s'] / p['wall_s']:.2f}",
        f"train-stage ratio dask / pandas:          {d['train_s'] / p['train_s']:.2f}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-busy", type=float, help="wait until others use at most this")
    args = parser.parse_args()

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    csv = dataset(args.rows, args.seed)
    warm_page_cache(csv)
    out = RESULTS_DIR / f"scale-{stamp}"
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    runs: dict[str, list[tuple[Measured, dict[str, Any]]]] = {c: [] for c in CONTENDERS}
    for i in range(args.repeat):
        order = CONTENDERS[i % 3 :] + CONTENDERS[: i % 3]
        for who in order:
            wait_for_quiet(args.max_busy)
            measured, info = run_one(who, csv, out, i)
            runs[who].append((measured, info))
            print(
                f"  {who:<6} run {i + 1}/{args.repeat}: {measured.wall_s:7.1f} s wall "
                f"{measured.cpu_s:7.1f} s CPU {measured.peak_rss_mb:6.0f} MB "
                f"(others busy {measured.others_busy or 0:.0%})",
                flush=True,
            )
    result = summary(runs)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    text = report(result)
    saved = {
        "date": stamp,
        "rows": args.rows,
        "repeat": args.repeat,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        **result,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(saved, indent=2) + "\n")
    print(f"\n{args.rows:,} rows x 50, medians of {args.repeat} run(s):\n{text}")
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
    print(f"machine: {saved['machine']}")
    print(f"results: {out / 'scale.json'}")


if __name__ == "__main__":
    main()
