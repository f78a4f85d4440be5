"""Bigger than memory: `mlconf train data.engine=dask model.params.external_memory=true` on a
generated 10M-row x 50-column Parquet data set, with the address space capped well below the
data's in-memory size, beside plain xgboost external memory over the same files.

    python benchmarks/bigdata.py                       # 10M rows, cap 3 GiB
    python benchmarks/bigdata.py --rows 1000000 --cap-gb 1.5   # quick check

Each contender runs as a child process under RLIMIT_AS (set in preexec_fn); its peak RSS is
the largest VmHWM of the child and its descendants, sampled from /proc every 0.2 s, and its
wall time is measured from spawn to reap. Results: benchmarks/README.md ("Bigger than memory").
Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
RESULTS_DIR = HERE / "results"
PYTHON = Path(sys.executable)
MLCONF = PYTHON.parent / "mlconf"
DATA_VERSION = "v1"  # bump when generate() changes
FEATURES = 50
ROWS_PER_FILE = 250_000
TREES = 100
PARAMS = {"max_depth": 6, "learning_rate": 0.1, "n_jobs": 2}


# --- data ------------------------------------------------------------------------------------


def generate(rows: int, seed: int) -> Path:
    """`rows` x 50 float64 features (f00..f49, 2% missing in f00..f04) and a 0/1 target
    that is a noisy logistic function of ten of them, in files of 250k rows; cached."""
    import pandas as pd

    folder = DATA_DIR / f"bigdata-{DATA_VERSION}-s{seed}-{rows}"
    done = folder / "_COMPLETE"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    weights = np.random.default_rng([seed, 999]).normal(size=10)
    names = [f"f{i:02d}" for i in range(FEATURES)]
    for i, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - start)
        rng = np.random.default_rng([seed, i])
        x = rng.normal(size=(n, FEATURES))
        logit = x[:, :10] @ weights + 0.5 * x[:, 0] * x[:, 1] + rng.logistic(size=n)
        x[:, :5][rng.random((n, 5)) < 0.02] = np.nan
        frame = pd.DataFrame(x, columns=names)
        frame["target"] = (logit > 0).astype(np.int8)
        frame.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
        print(f"  wrote part {i} ({start + n:,} rows)", flush=True)
    done.write_text("")
    return folder


# --- measuring a child -----------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += _tree(int(child))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(command: list[str], cap_bytes: int, log: Path) -> dict[str, Any]:
    """Run `command` under RLIMIT_AS=cap_bytes; wall time, peak RSS of its tree, exit code."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    peak: dict[int, int] = {}
    virtual: dict[int, int] = {}
    load_before = os.getloadavg()
    started = time.perf_counter()
    # Under an address-space cap, allocators that reserve address space up front fail before
    # memory runs out: two glibc malloc arenas, and Arrow on the system allocator.
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=cap, env=env
        )
        while proc.poll() is None:
            for pid in _tree(proc.pid):
                peak[pid] = max(peak.get(pid, 0), _status_kib(pid, "VmHWM"))
                virtual[pid] = max(virtual.get(pid, 0), _status_kib(pid, "VmPeak"))
            time.sleep(0.2)
    wall = time.perf_counter() - started
    return {
        "command": command,
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(max(peak.values(), default=0) / 1024, 1),
        "peak_rss_sum_mib": round(sum(peak.values()) / 1024, 1),
        "peak_virtual_mib": round(max(virtual.values(), default=0) / 1024, 1),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "log": str(log),
    }


# --- the contenders --------------------------------------------------------------------------


def mlconf_command(data: Path, out: Path) -> list[str]:
    return [
        str(MLCONF),
        "train",
        "data.name=bigdata",
        "data.sources.main.kind=parquet",
        f"data.sources.main.path={data}",
        "data.sources.main.dataset=null",
        "data.engine=dask",
        "problem.task=classification",
        "problem.target=target",
        "problem.positive_class=1",
        "problem.primary_metric=roc_auc",
        "problem.success_criteria={}",
        "model=xgboost",
        "model.params.external_memory=true",
        f"model.params.n_estimators={TREES}",
        *(f"model.params.{k}={v}" for k, v in PARAMS.items()),
        f"hydra.run.dir={out / 'mlconf-run'}",
        f"deploy.registry_url=sqlite:///{out / 'mlconf.db'}",
    ]


PLAIN = """
import sys, tempfile, glob
import numpy as np, pandas as pd, xgboost as xgb
from sklearn.metrics import roc_auc_score
files = sorted(glob.glob(sys.argv[1] + "/part-*.parquet"))
cut = int(len(files) * 0.8)
train_files, test_files = files[:cut], files[cut:]

class It(xgb.DataIter):
    def __init__(self, files, cache):
        self.files, self.i = files, 0
        super().__init__(cache_prefix=cache, release_data=True)
    def next(self, input_data):
        if self.i == len(self.files):
            return False
        frame = pd.read_parquet(self.files[self.i])
        input_data(data=frame.drop(columns="target"), label=frame["target"].to_numpy())
        self.i += 1
        return True
    def reset(self):
        self.i = 0

with tempfile.TemporaryDirectory() as cache:
    dtrain = xgb.ExtMemQuantileDMatrix(It(train_files, cache + "/train"))
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": %(depth)d,
              "learning_rate": %(lr)s, "nthread": %(jobs)d, "seed": 42}
    booster = xgb.train(params, dtrain, num_boost_round=%(trees)d)
    del dtrain
scores, truth = [], []
for path in test_files:
    frame = pd.read_parquet(path)
    scores.append(booster.inplace_predict(frame.drop(columns="target")))
    truth.append(frame["target"].to_numpy())
print("test roc_auc", roc_auc_score(np.concatenate(truth), np.concatenate(scores)))
"""


def plain_command(data: Path) -> list[str]:
    script = PLAIN % {
        "depth": PARAMS["max_depth"],
        "lr": PARAMS["learning_rate"],
        "jobs": PARAMS["n_jobs"],
        "trees": TREES,
    }
    return [str(PYTHON), "-c", script, str(data)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cap-gb", type=float, default=3.0, help="RLIMIT_AS per child, GiB")
    parser.add_argument("--only", choices=("mlconf", "plain"), default=None)
    args = parser.parse_args()

    data = generate(args.rows, args.seed)
    in_memory = args.rows * FEATURES * 8
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = RESULTS_DIR / f"bigdata-{stamp}"
    out.mkdir(parents=True)
    cap = int(args.cap_gb * 2**30)
    results: dict[str, Any] = {
        "rows": args.rows,
        "features": FEATURES,
        "files": len(list(data.glob("part-*.parquet"))),
        "on_disk_mib": round(sum(p.stat().st_size for p in data.glob("*.parquet")) / 2**20),
        "in_memory_bytes_float64": in_memory,
        "cap_bytes": cap,
        "trees": TREES,
        "params": PARAMS,
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    contenders = {"mlconf": mlconf_command(data, out), "plain": plain_command(data)}
    for name, command in contenders.items():
        if args.only not in (None, name):
            continue
        print(f"running {name} (RLIMIT_AS {args.cap_gb} GiB) ...", flush=True)
        results[name] = measure(command, cap, out / f"{name}.log")
        r = results[name]
        print(
            f"  {name}: exit {r['returncode']}, wall {r['wall_s']} s, peak RSS "
            f"{r['peak_rss_mib']:,} MiB = {r['peak_rss_mib'] * 2**20 / in_memory:.2f} of the "
            f"data's {in_memory / 2**30:.2f} GiB in memory; peak virtual "
            f"{r['peak_virtual_mib']:,} MiB",
            flush=True,
        )
        (RESULTS_DIR / f"bigdata-{stamp}.json").write_text(json.dumps(results, indent=1))
    if "mlconf" in results and "plain" in results:
        m, p = results["mlconf"], results["plain"]
        print(
            f"mlconf / plain: wall {m['wall_s'] / p['wall_s']:.2f}, "
            f"peak RSS {m['peak_rss_mib'] / max(p['peak_rss_mib'], 1):.2f}"
        )


if __name__ == "__main__":
    main()
