"""mlconf's overhead against a plain pandas + scikit-learn + xgboost script.

For each size (rows x 50 columns of synthetic data, written once to benchmarks/data/),
run `mlconf train experiment=bench` and `benchmarks/plain.py` on the same CSV, each in
its own child process, and report wall time and peak resident memory of each child.
Also time `mlconf --help` and `mlconf plugins` (median of 5).

    python benchmarks/overhead.py                       # 200k and 1M rows
    python benchmarks/overhead.py --rows 200000 --repeat 3

It also times the default experiment (`mlconf train`: breast_cancer, 569 rows, every stage,
report and registration included) from the shell, in a fresh folder, `--default-runs` times.

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
RESULTS_DIR = HERE / "results"
CONF_DIR = HERE / "conf"
PLAIN = HERE / "plain.py"
PYTHON = Path(sys.executable)
MLCONF = PYTHON.parent / "mlconf"

DATA_VERSION = "v2"  # bump when synthetic() changes, so stale CSVs are not reused
N_NUMERIC = 40
N_CATEGORICAL = 10
WITH_MISSING_NUMERIC = 20  # num_00..num_19 have 1-10% missing values
WITH_MISSING_CATEGORICAL = 5  # cat_0..cat_4 have 2% missing values
# Targets of the performance issues (14, 19).
MAX_WALL_RATIO = 1.15  # at 200k and 1M rows
MAX_RSS_RATIO = 1.5
MAX_CLI_SECONDS = 1.0
MAX_DEFAULT_SECONDS = 2.5  # `mlconf train`, the default experiment, from the shell
# ru_maxrss is in KiB on Linux, in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass
class Measured:
    """One child process: wall seconds from spawn to reap, CPU seconds, and its peak RSS.

    On a shared machine, two more numbers tell which runs had to share the cores:
    `busy_before`, the share of all cores busy in the second before the child started
    (see `cpu_busy`), and `others_busy`, the share of all cores that processes other than
    the child used while it ran (all CPU time /proc/stat counted during the run, minus
    the child's own).
    """

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    busy_before: float | None
    others_busy: float | None
    load_1min: float | None = None  # the 1-minute load average when the child started


# --- data ------------------------------------------------------------------------------------


def synthetic(rows: int, seed: int) -> pd.DataFrame:
    """40 numeric and 10 string columns with missing values, and a noisy binary target.

    The target depends on five numeric columns (one interaction, one non-linear term)
    and two categorical ones, plus logistic noise. The generating parameters (levels,
    level frequencies, effects, scales, missing rates) come from their own seeded
    stream, so every size is a sample of the same distribution.
    """
    params = np.random.default_rng([seed, 0])
    levels = params.integers(8, 13, size=N_CATEGORICAL)
    level_p = [params.dirichlet(np.full(k, 2.0)) for k in levels]
    effect = params.normal(0.0, 0.8, size=(2, int(levels.max())))
    scale = params.uniform(0.5, 1000.0, N_NUMERIC)
    shift = params.normal(0.0, 50.0, N_NUMERIC)
    missing = params.uniform(0.01, 0.10, WITH_MISSING_NUMERIC)

    rng = np.random.default_rng([seed, 1])
    z = rng.standard_normal((rows, N_NUMERIC))
    codes = [rng.choice(len(p), size=rows, p=p) for p in level_p]
    logit = (
        1.0 * z[:, 0]
        - 0.8 * z[:, 1]
        + 0.6 * z[:, 2] * z[:, 3]
        + 0.5 * np.sin(2.0 * z[:, 4])
        + effect[0, codes[0]]
        + effect[1, codes[1]]
        - 0.4
    )
    target = (logit + rng.logistic(size=rows) > 0).astype(np.int64)

    numeric = z * scale + shift
    for j, rate in enumerate(missing):
        numeric[rng.random(rows) < rate, j] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"num_{j:02d}" for j in range(N_NUMERIC)])
    for j, code in enumerate(codes):
        names = np.array([f"c{j}_{chr(ord('a') + i)}" for i in range(levels[j])], dtype=object)
        values = names[code]
        if j < WITH_MISSING_CATEGORICAL:
            values[rng.random(rows) < 0.02] = None
        frame[f"cat_{j}"] = values
    frame["target"] = target
    return frame


def dataset(rows: int, seed: int) -> Path:
    """The CSV for `rows`, generated on first use and reused afterwards."""
    return cached_csv(f"synthetic-{DATA_VERSION}", synthetic, rows, seed)


def cached_csv(
    stem: str, generate: Callable[[int, int], pd.DataFrame], rows: int, seed: int
) -> Path:
    """`generate(rows, seed)` written once to benchmarks/data/ (atomically), then reused.

    The stem carries the generator's data version, so a changed generator gets new files.
    """
    path = DATA_DIR / f"{stem}-s{seed}-{rows}.csv"
    if path.is_file():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.relative_to(HERE.parent)} ...", flush=True)
    tmp = path.with_suffix(".csv.tmp")
    generate(rows, seed).to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)
    return path


def warm_page_cache(path: Path) -> None:
    """Read the file once so that neither contender pays for the first disk read."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


# --- measuring one child -----------------------------------------------------------------------


def measure(
    command: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measured:
    """Run `command` as a child; wall time around it and its own peak RSS from wait4().

    os.wait4() returns the resource usage of exactly this child (including any
    grandchildren it waited for), so ru_maxrss is this process's peak, independent of
    earlier children. getrusage(RUSAGE_CHILDREN) would not do: its ru_maxrss is the
    maximum over *all* children reaped so far, not a sum, so deltas are meaningless.

    Without `env`, an mlconf command runs cold (MLCONF_WARM=0): a warm process the user
    happens to run would otherwise serve it, and time only its client.
    """
    env = {**os.environ, "MLCONF_WARM": "0"} if env is None else env
    log.parent.mkdir(parents=True, exist_ok=True)
    busy = cpu_busy()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    before = _cpu_times()
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    after = _cpu_times()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if before and after:
        child = cpu * os.sysconf("SC_CLK_TCK")
        others = max(0.0, (after[0] - before[0] - child) / max(1, after[1] - before[1]))
    rss_mb = usage.ru_maxrss * RSS_UNIT / 2**20
    return Measured(wall, cpu, rss_mb, proc.returncode, busy, others, load)


# --- one environment for both contenders -------------------------------------------------------

OMP_WAIT_POLICIES = ("PASSIVE", "ACTIVE")


def same_environment(omp_wait_policy: str) -> None:
    """Set OMP_WAIT_POLICY in this process, so that every child inherits the same value.

    `import mlconf` sets OMP_WAIT_POLICY=PASSIVE when it is unset and a plain script does
    not, so left alone the two sides would run xgboost's OpenMP threads differently (under
    contention, only the plain side's threads would spin). mlconf keeps a value that is
    already set, so setting it here gives both sides the same one.
    """
    if omp_wait_policy not in OMP_WAIT_POLICIES:
        raise SystemExit(f"OMP_WAIT_POLICY must be one of {OMP_WAIT_POLICIES}")
    os.environ["OMP_WAIT_POLICY"] = omp_wait_policy


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--omp-wait-policy, the same for both contenders (see same_environment)."""
    parser.add_argument(
        "--omp-wait-policy",
        choices=OMP_WAIT_POLICIES,
        default="PASSIVE",
        help="OpenMP wait policy given to both contenders (default PASSIVE, mlconf's own)",
    )


def compile_bytecode(tree: Path) -> bool:
    """Compile the tree's mlconf to __pycache__, as `pip install` does for a user.

    Where PYTHONDONTWRITEBYTECODE is set (as on the project's shared machine), an
    editable checkout has no .pyc files and every run compiles the 150-200 modules it
    imports again: 0.5-0.6 s of CPU per default run that an installed mlconf never pays.
    Reading .pyc files works with the variable set; only writing them is turned off."""
    import compileall

    package = tree / "mlconf"
    return package.is_dir() and bool(compileall.compile_dir(package, quiet=1))


def _archived_commit() -> str:
    """The commit a `git archive` snapshot was made from: git writes it into
    benchmarks/COMMIT (export-subst in .gitattributes); "unknown" elsewhere."""
    stamp = (HERE / "COMMIT").read_text().strip() if (HERE / "COMMIT").exists() else ""
    return stamp if stamp and not stamp.startswith("$") else "unknown"


def provenance() -> dict[str, Any]:
    """What a figure was measured at: UTC time, the git commit (and whether the code that
    runs, mlconf/ conf/ and the benchmark scripts, had uncommitted changes), and the load
    average."""
    repo = HERE.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip()

    code = ("mlconf", "conf", "benchmarks/*.py", "benchmarks/conf")  # not the READMEs
    dirty = bool(git("status", "--porcelain", "--", *code))
    return {
        "utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "commit": git("rev-parse", "--short", "HEAD") or _archived_commit(),
        "dirty": dirty,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median, minimum and maximum of repeated runs (what the README tables show)."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratio_spread(a: list[float], b: list[float]) -> dict[str, float]:
    """Ratios a/b of the runs paired in order (run i of each), and their median, min, max."""
    return spread([x / y for x, y in zip(a, b, strict=True)])


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot, from the first line of /proc/stat."""
    if not Path("/proc/stat").is_file():
        return None
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Share of all cores busy over `seconds` (None where /proc/stat does not exist).

    Called while the benchmark itself sleeps, so it measures everyone else's load.
    The 1-minute load average would not do: it still counts the previous child.
    """
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if not before or not after:
        return None
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def wait_for_quiet(max_busy: float | None, timeout_s: float = 300.0) -> None:
    """Wait (up to `timeout_s`) until other processes keep at most `max_busy` of the CPUs busy."""
    if max_busy is None:
        return
    deadline = time.monotonic() + timeout_s
    while (busy := cpu_busy(2.0)) is not None and busy > max_busy:
        if time.monotonic() > deadline:
            print(f"  still {busy:.0%} busy after {timeout_s:.0f} s; measuring anyway", flush=True)
            return
        print(f"  waiting: CPUs {busy:.0%} busy by others (> {max_busy:.0%})", flush=True)
        time.sleep(10)


def mlconf_command(csv: Path, run_dir: Path) -> list[str]:
    return [
        str(MLCONF),
        "train",
        f"hydra.searchpath=[file://{CONF_DIR}]",
        "experiment=bench",
        f"data.sources.main.path={csv}",
        f"hydra.run.dir={run_dir}",
    ]


def plain_command(csv: Path, out: Path) -> list[str]:
    return [str(PYTHON), str(PLAIN), "--csv", str(csv), "--out", str(out)]


def cli_seconds(args: list[str], runs: int = 5) -> float:
    """Median wall time of `mlconf <args>` over `runs` runs, after one warm-up run."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([str(MLCONF), *args], stdout=subprocess.DEVNULL, check=True)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _contention(result: Measured) -> str:
    def share(x: float | None) -> str:
        return "?" if x is None else f"{x:.0%}"

    load = "?" if result.load_1min is None else f"{result.load_1min:.1f}"
    return (
        f"(CPUs busy before {share(result.busy_before)}, others {share(result.others_busy)}, "
        f"load average {load})"
    )


def _fail(what: str, result: Measured, log: Path) -> None:
    tail = log.read_text(errors="replace").splitlines()[-20:]
    sys.exit(f"{what} exited with {result.returncode}; last lines of {log}:\n" + "\n".join(tail))


def bench_size(
    rows: int, seed: int, repeat: int, stamp: str, max_busy: float | None = None
) -> dict[str, Any]:
    """Both contenders on one size, `repeat` times each, alternating which goes first."""
    csv = dataset(rows, seed)
    warm_page_cache(csv)
    out = RESULTS_DIR / stamp / str(rows)
    runs: dict[str, list[Measured]] = {"mlconf": [], "plain": []}
    stages: list[dict[str, float]] = []
    timings: list[dict[str, float]] = []
    samples: dict[str, Any] = {}
    commits: list[Any] = []
    auc: dict[str, float] = {}
    for i in range(repeat):
        order = ("mlconf", "plain") if i % 2 == 0 else ("plain", "mlconf")
        for who in order:
            wait_for_quiet(max_busy)
            log = out / f"{who}-{i}.log"
            if who == "mlconf":
                run_dir = out / f"mlconf-run-{i}"
                shutil.rmtree(run_dir, ignore_errors=True)
                result = measure(mlconf_command(csv, run_dir), log)
                if result.returncode:
                    _fail("mlconf train", result, log)
                record = json.loads((run_dir / "run.json").read_text())
                stages.append(record["stages"])
                timings.append(record.get("timing") or {})
                samples = record.get("samples") or {}
                commits.append(record.get("git"))  # the mlconf code that ran
                metrics = json.loads((run_dir / "metrics.json").read_text())
                auc["mlconf"] = metrics["test"]["model"]["roc_auc"]["value"]
            else:
                metrics_path = out / f"plain-metrics-{i}.json"
                result = measure(plain_command(csv, metrics_path), log)
                if result.returncode:
                    _fail("plain.py", result, log)
                auc["plain"] = json.loads(metrics_path.read_text())["test"]["roc_auc"]
            runs[who].append(result)
            label = f"{rows:>9,} rows  {who:<6} run {i + 1}/{repeat}"
            seconds = f"{result.wall_s:7.1f} s wall {result.cpu_s:7.1f} s CPU"
            memory = f"{result.peak_rss_mb:7.0f} MB"
            print(f"  {label}: {seconds} {memory}  {_contention(result)}", flush=True)
    return {
        "rows": rows,
        "csv": str(csv.relative_to(HERE.parent)),
        "csv_mb": round(csv.stat().st_size / 2**20, 1),
        "mlconf": [asdict(r) for r in runs["mlconf"]],
        "plain": [asdict(r) for r in runs["plain"]],
        "mlconf_wall_s": statistics.median(r.wall_s for r in runs["mlconf"]),
        "plain_wall_s": statistics.median(r.wall_s for r in runs["plain"]),
        "mlconf_wall_min_s": min(r.wall_s for r in runs["mlconf"]),
        "plain_wall_min_s": min(r.wall_s for r in runs["plain"]),
        "wall_ratio_paired": ratio_spread(
            [r.wall_s for r in runs["mlconf"]], [r.wall_s for r in runs["plain"]]
        ),
        "mlconf_cpu_s": statistics.median(r.cpu_s for r in runs["mlconf"]),
        "plain_cpu_s": statistics.median(r.cpu_s for r in runs["plain"]),
        "mlconf_rss_mb": statistics.median(r.peak_rss_mb for r in runs["mlconf"]),
        "plain_rss_mb": statistics.median(r.peak_rss_mb for r in runs["plain"]),
        "mlconf_stages_s": {k: statistics.median(s[k] for s in stages) for k in stages[0]},
        # seconds from the first stage to the printed metrics, and to the last artifact
        "mlconf_timing_s": {
            k: statistics.median(t[k] for t in timings) for k in (timings[0] if timings else {})
        },
        "mlconf_samples": samples,
        "test_roc_auc": auc,
        "mlconf_git": commits,
    }


def default_experiment(
    runs: int,
    stamp: str,
    max_busy: float | None,
    against: Path | None = None,
    warm: bool = False,
) -> dict[str, Any]:
    """`mlconf train` (the default experiment, every stage) from the shell, `runs` times.

    All runs share one fresh project folder, as a user who iterates does (the first,
    not counted, creates the registry database and warms the page cache). Each run's
    wall time is spawn to reap; run.json adds the time to the printed metrics and to the
    last artifact, counted from the first stage; `outside_stages_s` is the rest (start-up:
    imports, composing the config, the checks; and the exit).

    `against` (another source tree, e.g. a worktree of main) runs the same experiment with
    that tree's mlconf first on its PYTHONPATH, alternated with this one run for run (the
    order switching each pair), so that both see the same load. `warm` runs this tree's
    commands through a warm process (`mlconf warm start`, started first and not timed)
    and compares them with the same tree run cold, alternated the same way, or, with
    `against`, with that tree's commands through a warm process of its own. A warm side's
    CPU is the caller's only (the command runs in the warm process's child).
    """
    cold = {"MLCONF_WARM": "0"}
    sides: dict[str, tuple[Path | None, dict[str, str]]] = {"this": (None, cold)}
    if against is not None:
        sides["against"] = (against, cold)
    folder = RESULTS_DIR / stamp / "default"
    if warm:  # both warm when there is another tree; else this tree warm against cold
        sockets = {side: Path(tempfile.mkdtemp(prefix="mlconf-bench-warm-")) for side in sides}
        sides = {
            side: (tree, {"MLCONF_WARM_DIR": str(sockets[side])})
            for side, (tree, _) in sides.items()
        }
        if against is None:
            sides["against"] = (None, cold)
        for side, folder_of_sockets in sockets.items():
            _warm_process("start", folder_of_sockets, sides[side][0])
    measured: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    try:
        for i in range(runs + 1):
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]
            for side in order:
                wait_for_quiet(max_busy)
                run, record = _default_run(folder / side, i, *sides[side])
                if i == 0:
                    continue
                measured[side].append(record)
                print(
                    f"  default experiment ({side}) run {i}/{runs}: {record['wall_s']:5.2f} s "
                    f"wall {record['cpu_s']:5.2f} s CPU {record['peak_rss_mb']:5.0f} MB  "
                    f"{_contention(run)}",
                    flush=True,
                )
    finally:
        if warm:
            for side, folder_of_sockets in sockets.items():
                _warm_process("stop", folder_of_sockets, sides[side][0])
    summary = _default_summary(measured["this"])
    if "against" in measured:
        tree = str(against) if against is not None else "this tree without a warm process"
        summary["against"] = {"tree": tree, **_default_summary(measured["against"])}
    summary["warm"] = warm
    return summary


def _warm_process(action: str, sockets: Path, tree: Path | None) -> None:
    """`mlconf warm start|stop` with its sockets in `sockets`, with `tree`'s mlconf."""
    env = _tree_environment(tree, {"MLCONF_WARM_DIR": str(sockets)})
    # run from the sockets' folder: an older tree's `warm start` starts its process in the
    # working folder, where `-m` would import this repository's mlconf instead of the tree's
    done = subprocess.run(
        [str(MLCONF), "warm", action],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=sockets,
    )
    print(f"  mlconf warm {action}: {done.stdout.strip()} {done.stderr.strip()}", flush=True)
    if done.returncode:
        raise SystemExit(f"mlconf warm {action} failed")


def _tree_environment(tree: Path | None, extra_env: dict[str, str]) -> dict[str, str]:
    """This environment with `extra_env`, and `tree` first on PYTHONPATH when given."""
    env = {**os.environ, **extra_env}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    return env


def _default_run(
    folder: Path, i: int, tree: Path | None, extra_env: dict[str, str]
) -> tuple[Measured, dict[str, Any]]:
    """One `mlconf train` of the default experiment in `folder`, with `tree`'s mlconf."""
    folder.mkdir(parents=True, exist_ok=True)
    env = _tree_environment(tree, extra_env)
    run_dir = folder / f"run-{i}"
    log = folder / f"{i}.log"
    result = measure([str(MLCONF), "train", f"hydra.run.dir={run_dir}"], log, folder, env)
    if result.returncode:
        _fail("mlconf train (default experiment)", result, log)
    timing = json.loads((run_dir / "run.json").read_text()).get("timing") or {}
    return result, {**asdict(result), "timing": timing}


def _default_summary(measured: list[dict[str, Any]]) -> dict[str, Any]:
    def timing(key: str) -> list[float]:
        return [m["timing"].get(key, math.nan) for m in measured]

    outside = [m["wall_s"] - m["timing"].get("to_last_artifact", math.nan) for m in measured]
    return {
        "runs": measured,
        "wall_s": spread([m["wall_s"] for m in measured]),
        "cpu_s": spread([m["cpu_s"] for m in measured]),
        "to_metrics_s": spread(timing("to_metrics")),
        "to_last_artifact_s": spread(timing("to_last_artifact")),
        "outside_stages_s": spread(outside),
    }


# --- report --------------------------------------------------------------------------------------


def table(sizes: list[dict[str, Any]]) -> str:
    """Markdown table of the medians, with the ratios mlconf / plain."""
    lines = [
        "| rows | mlconf wall s | plain wall s | ratio | mlconf peak RSS MB "
        "| plain peak RSS MB | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        wall = s["mlconf_wall_s"] / s["plain_wall_s"]
        rss = s["mlconf_rss_mb"] / s["plain_rss_mb"]
        lines.append(
            f"| {s['rows']:,} | {s['mlconf_wall_s']:.1f} | {s['plain_wall_s']:.1f} | "
            f"{wall:.2f} | {s['mlconf_rss_mb']:.0f} | {s['plain_rss_mb']:.0f} | {rss:.2f} |"
        )
    return "\n".join(lines)


def secondary_table(sizes: list[dict[str, Any]]) -> str:
    """Less noise-sensitive views: best-of-repeats wall time and CPU time (user + sys)."""
    lines = [
        "| rows | mlconf best wall s | plain best wall s | ratio | mlconf CPU s | plain CPU s "
        "| ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        best = s["mlconf_wall_min_s"] / s["plain_wall_min_s"]
        cpu = s["mlconf_cpu_s"] / s["plain_cpu_s"]
        lines.append(
            f"| {s['rows']:,} | {s['mlconf_wall_min_s']:.1f} | {s['plain_wall_min_s']:.1f} | "
            f"{best:.2f} | {s['mlconf_cpu_s']:.1f} | {s['plain_cpu_s']:.1f} | {cpu:.2f} |"
        )
    return "\n".join(lines)


def verdicts(
    sizes: list[dict[str, Any]], cli: dict[str, float], default: dict[str, Any] | None = None
) -> list[str]:
    out = []
    for s in sizes:
        wall = s["mlconf_wall_s"] / s["plain_wall_s"]
        rss = s["mlconf_rss_mb"] / s["plain_rss_mb"]
        if s["rows"] >= 200_000:
            ok = "met" if wall <= MAX_WALL_RATIO else "missed"
            out.append(
                f"{s['rows']:,} rows: wall ratio {wall:.2f} (target <= {MAX_WALL_RATIO}): {ok}"
            )
        ok = "met" if rss <= MAX_RSS_RATIO else "missed"
        out.append(
            f"{s['rows']:,} rows: peak RSS ratio {rss:.2f} (target <= {MAX_RSS_RATIO}): {ok}"
        )
    for name, seconds in cli.items():
        ok = "met" if seconds < MAX_CLI_SECONDS else "missed"
        out.append(f"`{name}`: {seconds:.2f} s median of 5 (target < {MAX_CLI_SECONDS} s): {ok}")
    if default:
        wall = default["wall_s"]["median"]
        ok = "met" if wall <= MAX_DEFAULT_SECONDS else "missed"
        how = " with a warm process" if default.get("warm") else ""
        out.append(
            f"default experiment from the shell{how}: {wall:.2f} s median wall "
            f"(min {default['wall_s']['min']:.2f}; metrics printed after "
            f"{default['to_metrics_s']['median']:.2f} s of stages, last artifact after "
            f"{default['to_last_artifact_s']['median']:.2f} s) (target <= "
            f"{MAX_DEFAULT_SECONDS} s): {ok}"
        )
        other = default.get("against")
        if other:
            out.append(
                f"default experiment against {other['tree']} (alternated): wall "
                f"{wall:.2f} s / {other['wall_s']['median']:.2f} s = "
                f"{wall / other['wall_s']['median']:.2f}, CPU {default['cpu_s']['median']:.2f} s"
                f" / {other['cpu_s']['median']:.2f} s = "
                f"{default['cpu_s']['median'] / other['cpu_s']['median']:.2f}; outside the "
                f"stages {default['outside_stages_s']['median']:.2f} s / "
                f"{other['outside_stages_s']['median']:.2f} s; metrics after "
                f"{default['to_metrics_s']['median']:.2f} s / "
                f"{other['to_metrics_s']['median']:.2f} s of stages; last artifact after "
                f"{default['to_last_artifact_s']['median']:.2f} s / "
                f"{other['to_last_artifact_s']['median']:.2f} s"
            )
    return out


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    from mlconf.core.distribution import package_version

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    packages = (
        "mlconf-tabular",
        "pandas",
        "numpy",
        "scikit-learn",
        "xgboost",
        "hydra-core",
        "skops",
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        **{name: package_version(name) for name in packages},
    }


def _save(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="mlconf overhead against a plain script.")
    parser.add_argument(
        "--rows", type=int, nargs="*", default=[200_000, 1_000_000], help="sizes (none: skip)"
    )
    parser.add_argument(
        "--default-runs",
        type=int,
        default=5,
        help="times to run the default experiment from the shell (0: skip)",
    )
    parser.add_argument(
        "--default-against",
        type=Path,
        metavar="TREE",
        help="also run the default experiment with the mlconf of this source tree (e.g. a "
        "worktree of main), alternated with this one, and print the ratios",
    )
    parser.add_argument(
        "--default-warm",
        action="store_true",
        help="run the default experiment through a warm process (`mlconf warm start`), "
        "alternated with the same tree run cold (with --default-against: with that tree warm)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender and size")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--no-cli", action="store_true", help="skip timing --help and plugins")
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="do not compile the source trees' bytecode first: every run then compiles "
        "mlconf's modules again where PYTHONDONTWRITEBYTECODE is set (the figures of "
        "issue 19 before its third pass were taken so)",
    )
    parser.add_argument(
        "--max-busy",
        type=float,
        help="before each run, wait (up to 5 min) until other processes keep at most this "
        "share of the CPUs busy (for shared machines; e.g. 0.2)",
    )
    add_common_options(parser)
    args = parser.parse_args()
    same_environment(args.omp_wait_policy)

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    report: dict[str, Any] = {
        "date": stamp,
        "provenance": provenance(),
        "repeat": args.repeat,
        "machine": machine(),
        "sizes": [],
        "cli_s": {},
        "default_experiment": None,
        "complete": False,
    }
    path = RESULTS_DIR / f"overhead-{stamp}.json"
    print(f"machine: {report['machine']}", flush=True)
    if not args.source_only:
        trees = [HERE.parent, *([args.default_against] if args.default_against else [])]
        report["bytecode"] = [str(tree) for tree in trees if compile_bytecode(tree)]
        print(f"bytecode compiled first (as an install does) for: {report['bytecode']}")
    sizes: list[dict[str, Any]] = report["sizes"]
    for rows in args.rows:
        sizes.append(bench_size(rows, args.seed, args.repeat, stamp, args.max_busy))
        _save(path, report)  # a later failure keeps the sizes already measured
    if args.default_runs > 0:
        report["default_experiment"] = default_experiment(
            args.default_runs, stamp, args.max_busy, args.default_against, args.default_warm
        )
        _save(path, report)
    cli: dict[str, float] = report["cli_s"]
    if not args.no_cli:
        wait_for_quiet(args.max_busy)
        cli["mlconf --help"] = cli_seconds(["--help"])
        cli["mlconf plugins"] = cli_seconds(["plugins"])
    report["complete"] = True
    report["provenance_end"] = provenance()
    _save(path, report)

    print(f"\nmedians of {args.repeat} run(s):\n{table(sizes)}\n\n{secondary_table(sizes)}\n")
    for s in sizes:
        stage_text = ", ".join(f"{k} {v:.1f}" for k, v in s["mlconf_stages_s"].items())
        print(f"{s['rows']:,} rows: mlconf stages (s): {stage_text}")
        timing = s.get("mlconf_timing_s") or {}
        if timing:
            print(
                f"{s['rows']:,} rows: mlconf metrics printed after {timing['to_metrics']:.1f} s "
                f"of stages, last artifact after {timing['to_last_artifact']:.1f} s"
            )
        commits = {
            f"{g['commit'][:10]}{' (dirty)' if g['dirty'] else ''}" for g in s["mlconf_git"] if g
        }
        print(f"{s['rows']:,} rows: mlconf code at {', '.join(sorted(commits)) or 'unknown'}")
        paired = s["wall_ratio_paired"]
        print(
            f"{s['rows']:,} rows: wall ratio of paired runs: median {paired['median']:.2f}, "
            f"range {paired['min']:.2f}-{paired['max']:.2f}"
        )
        auc = s["test_roc_auc"]
        print(
            f"{s['rows']:,} rows: test roc_auc mlconf {auc['mlconf']:.4f}, plain {auc['plain']:.4f}"
        )
    for name, seconds in cli.items():
        print(f"{name}: {seconds:.2f} s")
    print()
    print("\n".join(verdicts(sizes, cli, report["default_experiment"])))
    start, end = report["provenance"], report["provenance_end"]
    print(
        f"measured at commit {start['commit']}{' (dirty)' if start['dirty'] else ''}, "
        f"{start['utc']} to {end['utc']} UTC, load average {start['load_average'][0]:.1f} "
        f"-> {end['load_average'][0]:.1f}, OMP_WAIT_POLICY={start['omp_wait_policy']} for both"
    )
    print(f"\nresults: {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
