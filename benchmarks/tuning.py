"""mlconf's tuning overhead against a plain Optuna script doing the same trials.

On synthetic data (rows x 30 numeric columns with a few missing values and a binary
target, written once to benchmarks/data/), run `mlconf train experiment=bench_tuning`
(search=xgboost, TPE, no pruner, 3-fold CV on the training part) and
`benchmarks/plain_tuning.py` with the same number of trials, each in its own child
process, and report wall time and peak resident memory of each child. The trials of
both studies are compared, so a difference in the work done shows up.

    python benchmarks/tuning.py                 # 100k rows, 10 trials
    python benchmarks/tuning.py --trials 3 --rows 20000

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from overhead import (
    CONF_DIR,
    HERE,
    MLCONF,
    PYTHON,
    RESULTS_DIR,
    Measured,
    add_common_options,
    cached_csv,
    machine,
    measure,
    provenance,
    ratio_spread,
    same_environment,
    wait_for_quiet,
    warm_page_cache,
)

PLAIN = HERE / "plain_tuning.py"
DATA_VERSION = "v1"  # bump when synthetic() changes, so stale CSVs are not reused
N_NUMERIC = 30
WITH_MISSING = 6  # num_00..num_05 have 0.5-5% missing values
MAX_WALL_RATIO = 1.10  # target: mlconf wall <= 1.10 x plain


def synthetic(rows: int, seed: int) -> pd.DataFrame:
    """30 numeric columns at different scales, a few missing values, a noisy binary target.

    The target is a logistic function of six columns (one interaction, one non-linear
    term, one threshold) plus logistic noise; the other 24 columns are noise.
    """
    params = np.random.default_rng([seed, 0])
    scale = params.uniform(0.5, 1000.0, N_NUMERIC)
    shift = params.normal(0.0, 50.0, N_NUMERIC)
    missing = params.uniform(0.005, 0.05, WITH_MISSING)

    rng = np.random.default_rng([seed, 1])
    z = rng.standard_normal((rows, N_NUMERIC))
    logit = (
        1.0 * z[:, 0]
        - 0.8 * z[:, 1]
        + 0.6 * z[:, 2] * z[:, 3]
        + 0.5 * np.sin(2.0 * z[:, 4])
        + 0.7 * (z[:, 5] > 0.5)
        - 0.4
    )
    target = (logit + rng.logistic(size=rows) > 0).astype(np.int64)
    numeric = z * scale + shift
    for j, rate in enumerate(missing):
        numeric[rng.random(rows) < rate, j] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"num_{j:02d}" for j in range(N_NUMERIC)])
    frame["target"] = target
    return frame


def dataset(rows: int, seed: int) -> Path:
    """The CSV for `rows`, generated on first use and reused afterwards."""
    return cached_csv(f"tuning-{DATA_VERSION}", synthetic, rows, seed)


def mlconf_command(csv: Path, trials: int, run_dir: Path) -> list[str]:
    return [
        str(MLCONF),
        "train",
        f"hydra.searchpath=[file://{CONF_DIR}]",
        "experiment=bench_tuning",
        f"data.sources.main.path={csv}",
        f"tune.n_trials={trials}",
        f"hydra.run.dir={run_dir}",
    ]


def plain_command(csv: Path, trials: int, out: Path) -> list[str]:
    return [str(PYTHON), str(PLAIN), "--csv", str(csv), "--trials", str(trials), "--out", str(out)]


def _fail(what: str, result: Measured, log: Path) -> None:
    tail = log.read_text(errors="replace").splitlines()[-20:]
    raise SystemExit(
        f"{what} exited with {result.returncode}; last lines of {log}:\n" + "\n".join(tail)
    )


def mlconf_trials(run_dir: Path) -> list[dict[str, Any]]:
    """trials.csv as (number, value, params), params without the unsampled (NaN) ones."""
    frame = pd.read_csv(run_dir / "trials.csv")
    out = []
    for row in frame.to_dict("records"):
        params = {
            k.removeprefix("param_"): v
            for k, v in row.items()
            if k.startswith("param_") and not (isinstance(v, float) and math.isnan(v))
        }
        out.append({"number": int(row["number"]), "value": row["value"], "params": params})
    return out


def same_trials(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether both studies sampled the same params, and the largest score difference."""
    params_equal = len(a) == len(b) and all(
        ta["params"].keys() == tb["params"].keys()
        and all(_close(ta["params"][k], tb["params"][k]) for k in ta["params"])
        for ta, tb in zip(a, b, strict=False)
    )
    diffs = [abs(ta["value"] - tb["value"]) for ta, tb in zip(a, b, strict=False)]
    return {"params_equal": params_equal, "max_abs_value_diff": max(diffs, default=math.nan)}


def _close(x: Any, y: Any) -> bool:
    if isinstance(x, str) or isinstance(y, str):
        return str(x) == str(y)
    return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12)


def bench(
    rows: int, seed: int, trials: int, repeat: int, stamp: str, max_busy: float | None
) -> dict[str, Any]:
    """Both contenders, `repeat` times each, alternating which goes first."""
    csv = dataset(rows, seed)
    warm_page_cache(csv)
    out = RESULTS_DIR / stamp / f"tuning-{rows}"
    runs: dict[str, list[Measured]] = {"mlconf": [], "plain": []}
    stages: list[dict[str, float]] = []
    plain_seconds: list[dict[str, float]] = []
    commits: list[Any] = []
    studies: dict[str, list[dict[str, Any]]] = {}
    auc: dict[str, float] = {}
    for i in range(repeat):
        order = ("mlconf", "plain") if i % 2 == 0 else ("plain", "mlconf")
        for who in order:
            wait_for_quiet(max_busy)
            log = out / f"{who}-{i}.log"
            if who == "mlconf":
                run_dir = out / f"mlconf-run-{i}"
                shutil.rmtree(run_dir, ignore_errors=True)
                result = measure(mlconf_command(csv, trials, run_dir), log)
                if result.returncode:
                    _fail("mlconf train", result, log)
                record = json.loads((run_dir / "run.json").read_text())
                stages.append(record["stages"])
                commits.append(record.get("git"))
                metrics = json.loads((run_dir / "metrics.json").read_text())
                auc["mlconf"] = metrics["test"]["model"]["roc_auc"]["value"]
                studies["mlconf"] = mlconf_trials(run_dir)
            else:
                path = out / f"plain-result-{i}.json"
                result = measure(plain_command(csv, trials, path), log)
                if result.returncode:
                    _fail("plain_tuning.py", result, log)
                plain = json.loads(path.read_text())
                auc["plain"] = plain["roc_auc"]["test"]
                studies["plain"] = plain["trials"]
                plain_seconds.append(plain["seconds"])
            runs[who].append(result)
            label = f"{rows:>9,} rows {trials} trials  {who:<6} run {i + 1}/{repeat}"
            seconds = f"{result.wall_s:7.1f} s wall {result.cpu_s:7.1f} s CPU"
            busy = "?" if result.busy_before is None else f"{result.busy_before:.0%}"
            load = "?" if result.load_1min is None else f"{result.load_1min:.1f}"
            print(
                f"  {label}: {seconds} {result.peak_rss_mb:7.0f} MB  (CPUs busy before: {busy}, "
                f"load average {load})",
                flush=True,
            )
    return {
        "rows": rows,
        "trials": trials,
        "csv": str(csv.relative_to(HERE.parent)),
        "mlconf": [asdict(r) for r in runs["mlconf"]],
        "plain": [asdict(r) for r in runs["plain"]],
        "mlconf_wall_s": statistics.median(r.wall_s for r in runs["mlconf"]),
        "plain_wall_s": statistics.median(r.wall_s for r in runs["plain"]),
        "wall_ratio_paired": ratio_spread(
            [r.wall_s for r in runs["mlconf"]], [r.wall_s for r in runs["plain"]]
        ),
        "mlconf_cpu_s": statistics.median(r.cpu_s for r in runs["mlconf"]),
        "plain_cpu_s": statistics.median(r.cpu_s for r in runs["plain"]),
        "mlconf_rss_mb": statistics.median(r.peak_rss_mb for r in runs["mlconf"]),
        "plain_rss_mb": statistics.median(r.peak_rss_mb for r in runs["plain"]),
        "mlconf_stages_s": {k: statistics.median(s[k] for s in stages) for k in stages[0]},
        "plain_seconds": {
            k: statistics.median(s[k] for s in plain_seconds) for k in plain_seconds[0]
        },
        "same_trials": same_trials(studies["mlconf"], studies["plain"]),
        "trials_detail": studies,
        "test_roc_auc": auc,
        "mlconf_git": commits,
    }


# Issue 18, "use the cores": two trials at once with one model thread each, against one
# trial at a time whose model uses both threads. Same study otherwise.
PARALLEL = {
    "threads in one trial": ["tune.n_jobs=1", "model.params.n_jobs=2"],
    "parallel trials": ["tune.n_jobs=2", "model.params.n_jobs=1"],
}


def parallel_vs_threads(rows: int, seed: int, trials: int, repeat: int, stamp: str) -> dict:
    """The tune stage's seconds for the same number of trials either way, alternated."""
    csv = dataset(rows, seed)
    warm_page_cache(csv)
    out = RESULTS_DIR / stamp / f"parallel-{rows}"
    tune_s: dict[str, list[float]] = {k: [] for k in PARALLEL}
    complete: dict[str, list[int]] = {k: [] for k in PARALLEL}
    loads: list[float | None] = []
    for i in range(repeat):
        for who in list(PARALLEL) if i % 2 == 0 else list(reversed(PARALLEL)):
            name = f"{who.replace(' ', '_')}-{i}"
            run_dir = out / name
            shutil.rmtree(run_dir, ignore_errors=True)
            command = [*mlconf_command(csv, trials, run_dir), *PARALLEL[who]]
            result = measure(command, out / f"{name}.log")
            if result.returncode:
                _fail(f"mlconf train ({who})", result, out / f"{name}.log")
            record = json.loads((run_dir / "run.json").read_text())
            tune_s[who].append(record["stages"]["tune"])
            frame = pd.read_csv(run_dir / "trials.csv")
            complete[who].append(int((frame["state"] == "COMPLETE").sum()))
            loads.append(result.load_1min)
            print(
                f"  {who:<21} run {i + 1}/{repeat}: tune {tune_s[who][-1]:6.1f} s, "
                f"{complete[who][-1]} complete trials, load average {result.load_1min}",
                flush=True,
            )
    median = {k: statistics.median(v) for k, v in tune_s.items()}
    return {
        "rows": rows,
        "trials": trials,
        "tune_s": tune_s,
        "complete_trials": complete,
        "median_tune_s": median,
        "parallel_over_threads": median["parallel trials"] / median["threads in one trial"],
        "faster": min(median, key=lambda k: median[k]),
        "load_1min": loads,
    }


def table(s: dict[str, Any]) -> str:
    """Markdown table of the medians, with the ratios mlconf / plain."""
    wall = s["mlconf_wall_s"] / s["plain_wall_s"]
    cpu = s["mlconf_cpu_s"] / s["plain_cpu_s"]
    rss = s["mlconf_rss_mb"] / s["plain_rss_mb"]
    return "\n".join(
        [
            "| rows | trials | mlconf wall s | plain wall s | ratio | mlconf CPU s | plain CPU s "
            "| ratio | mlconf peak RSS MB | plain peak RSS MB | ratio |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {s['rows']:,} | {s['trials']} | {s['mlconf_wall_s']:.1f} | "
            f"{s['plain_wall_s']:.1f} | {wall:.2f} | {s['mlconf_cpu_s']:.1f} | "
            f"{s['plain_cpu_s']:.1f} | {cpu:.2f} | {s['mlconf_rss_mb']:.0f} | "
            f"{s['plain_rss_mb']:.0f} | {rss:.2f} |",
        ]
    )


def _save(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="mlconf tuning overhead against plain Optuna.")
    parser.add_argument("--trials", type=int, default=10, help="Optuna trials per study")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument(
        "--max-busy",
        type=float,
        help="before each run, wait (up to 5 min) until other processes keep at most this "
        "share of the CPUs busy (for shared machines; e.g. 0.2)",
    )
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="issue 18: parallel trials (one thread each) against threads in one trial",
    )
    add_common_options(parser)
    args = parser.parse_args()
    same_environment(args.omp_wait_policy)
    if args.parallel:
        import os

        # the `mlconf` command would import the installed package, not this checkout's
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        start = provenance()
        result = parallel_vs_threads(args.rows, args.seed, args.trials, args.repeat, stamp)
        report = {"date": stamp, "provenance": start, "result": result}
        report["provenance_end"] = provenance()
        _save(RESULTS_DIR / f"parallel-{stamp}.json", report)
        median = result["median_tune_s"]
        print(
            f"median tune seconds: {median}; parallel / threads = "
            f"{result['parallel_over_threads']:.2f}; faster: {result['faster']}; load average "
            f"{start['load_average'][0]:.1f} -> {report['provenance_end']['load_average'][0]:.1f}"
        )
        return

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    report: dict[str, Any] = {
        "date": stamp,
        "provenance": provenance(),
        "repeat": args.repeat,
        "machine": {**machine(), **_versions("optuna")},
        "complete": False,
    }
    path = RESULTS_DIR / f"tuning-{stamp}.json"
    print(f"machine: {report['machine']}", flush=True)
    s = bench(args.rows, args.seed, args.trials, args.repeat, stamp, args.max_busy)
    report["result"] = s
    report["complete"] = True
    report["provenance_end"] = provenance()
    _save(path, report)

    print(f"\nmedians of {args.repeat} run(s):\n{table(s)}\n")
    stage_text = ", ".join(f"{k} {v:.1f}" for k, v in s["mlconf_stages_s"].items())
    print(f"mlconf stages (s): {stage_text}")
    plain_text = ", ".join(f"{k} {v:.1f}" for k, v in s["plain_seconds"].items())
    print(f"plain parts (s): {plain_text}")
    commits = {
        f"{g['commit'][:10]}{' (dirty)' if g['dirty'] else ''}" for g in s["mlconf_git"] if g
    }
    print(f"mlconf code at {', '.join(sorted(commits)) or 'unknown'}")
    same = s["same_trials"]
    print(
        f"same sampled params: {same['params_equal']}; largest difference of a trial's "
        f"CV roc_auc: {same['max_abs_value_diff']:.2e}"
    )
    auc = s["test_roc_auc"]
    print(f"test roc_auc of the best params: mlconf {auc['mlconf']:.4f}, plain {auc['plain']:.4f}")
    wall = s["mlconf_wall_s"] / s["plain_wall_s"]
    paired = s["wall_ratio_paired"]
    ok = "met" if wall <= MAX_WALL_RATIO else "missed"
    print(
        f"\nwall ratio {wall:.2f} (paired runs {paired['min']:.2f}-{paired['max']:.2f}; "
        f"target <= {MAX_WALL_RATIO}): {ok}"
    )
    start, end = report["provenance"], report["provenance_end"]
    print(
        f"measured at commit {start['commit']}{' (dirty)' if start['dirty'] else ''}, "
        f"{start['utc']} to {end['utc']} UTC, load average {start['load_average'][0]:.1f} "
        f"-> {end['load_average'][0]:.1f}, OMP_WAIT_POLICY={start['omp_wait_policy']} for both"
    )
    print(f"results: {path.relative_to(HERE.parent)}")


def _versions(*packages: str) -> dict[str, str]:
    from mlconf.core.distribution import package_version

    return {name: package_version(name) for name in packages}


if __name__ == "__main__":
    main()
