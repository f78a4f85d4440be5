"""Distributed tuning: 1 worker against 2 workers on one PostgreSQL study.

Each worker is a separate `mlconf train experiment=bench_tuning` process (xgboost, random
sampler, no pruner, 3-fold CV, one xgboost thread per worker) with a fixed number of
trials of its own (`tune.n_trials`), all adding to one study in a PostgreSQL database.
Run 1 starts one worker, run 2 starts two at once on a fresh study. The report: wall time
of each run (first start to last exit), trials completed in the study, throughput
(trials per minute) and the ratios. On a machine with two free cores, two workers should
finish twice the trials in about the same wall time (throughput ratio near 2).

    python benchmarks/distributed_tuning.py                    # 20k rows, 8 trials per worker
    python benchmarks/distributed_tuning.py --trials 4 --rows 5000 --url postgresql+psycopg://...

Without --url a throwaway PostgreSQL server is started for the run (tests/postgres.py:
initdb + pg_ctl on a free loopback port). Method, machine and results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overhead import HERE, RESULTS_DIR, cpu_busy, machine, wait_for_quiet
from tuning import dataset, mlconf_command

sys.path.insert(0, str(HERE.parent / "tests"))


def workers_run(url: str, csv: Path, workers: int, trials: int, out: Path) -> dict[str, Any]:
    """Start `workers` processes on one new study at once; wall time and what they did."""
    import optuna

    study = f"bench-{workers}w-{uuid.uuid4().hex[:6]}"
    out.mkdir(parents=True, exist_ok=True)
    procs, logs = [], []
    busy = cpu_busy()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    for k in range(workers):
        command = [
            *mlconf_command(csv, trials, out / f"worker{k}"),
            f"tune.storage={url}",
            f"tune.study_name={study}",
            "tune.sampler=random",
            f"seed={k}",  # one seed per worker: they must not draw the same parameters
            "model.params.n_jobs=1",
            "explore.enabled=false",
            "explain.enabled=false",
            "report.enabled=false",
            "deploy.register.enabled=false",
        ]
        log = (out / f"worker{k}.log").open("w")
        logs.append(log)
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    codes = [proc.wait() for proc in procs]
    wall = time.perf_counter() - start
    for log in logs:
        log.close()
    if any(codes):
        raise SystemExit(f"a worker failed ({codes}); see {out}/worker*.log")
    stored = optuna.load_study(study_name=study, storage=url)
    states = [t.state.name for t in stored.trials]
    tune_s = [
        json.loads((out / f"worker{k}" / "run.json").read_text())["stages"]["tune"]
        for k in range(workers)
    ]
    return {
        "workers": workers,
        "trials_per_worker": trials,
        "wall_s": round(wall, 2),
        "completed": states.count("COMPLETE"),
        "states": {s: states.count(s) for s in sorted(set(states))},
        "trials_per_min": round(states.count("COMPLETE") / wall * 60, 2),
        "tune_stage_s": tune_s,
        # trials per minute of tuning alone (the slowest worker's tune stage)
        "tune_trials_per_min": round(states.count("COMPLETE") / max(tune_s) * 60, 2),
        "others_busy_before": busy,
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="1 vs 2 tuning workers on one PostgreSQL study.")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=8, help="trials per worker")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument("--url", help="a PostgreSQL SQLAlchemy URL; default: a throwaway server")
    parser.add_argument("--max-busy", type=float, help="wait until others use at most this")
    args = parser.parse_args()

    from postgres import server

    csv = dataset(args.rows, args.seed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"distributed-tuning-{stamp}"
    with nullcontext(args.url) if args.url else server() as url:
        runs = []
        for workers in (1, 2):
            wait_for_quiet(args.max_busy)
            print(f"{workers} worker(s) x {args.trials} trials ...", flush=True)
            runs.append(workers_run(url, csv, workers, args.trials, out / f"{workers}w"))
            print(f"  {runs[-1]}", flush=True)
    one, two = runs
    report = {
        "rows": args.rows,
        "machine": machine(),
        "runs": runs,
        "trials_ratio": round(two["completed"] / one["completed"], 2),
        "wall_ratio": round(two["wall_s"] / one["wall_s"], 2),
        "throughput_ratio": round(two["trials_per_min"] / one["trials_per_min"], 2),
        "tune_throughput_ratio": round(two["tune_trials_per_min"] / one["tune_trials_per_min"], 2),
    }
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    header = "| workers | trials done | wall s | trials/min | tuning trials/min | load 1 min |"
    lines = [header, "|---|---|---|---|---|---|"]
    for r in runs:
        load = f"{r['load_1min_before']:.1f} -> {r['load_1min_after']:.1f}"
        lines.append(
            f"| {r['workers']} | {r['completed']} | {r['wall_s']:.1f} | "
            f"{r['trials_per_min']:.1f} | {r['tune_trials_per_min']:.1f} | {load} |"
        )
    print("\n" + "\n".join(lines))
    print(
        f"\n2 workers / 1 worker: trials x{report['trials_ratio']}, wall time "
        f"x{report['wall_ratio']}, throughput x{report['throughput_ratio']} "
        f"(tuning stage alone x{report['tune_throughput_ratio']})\n({path})"
    )


if __name__ == "__main__":
    main()
