"""Drift on 1M current rows x 50 features against a 1M-row reference: mlconf vs plain scipy.

Three child processes of this one, each timed from outside (wall, peak RSS via wait4):

- `profile`: generate the 1M-row reference table, build mlconf's reference profile
  (what the save stage does at training time) and write it as JSON;
- `mlconf`: read that profile, generate the current table, run mlconf's drift step
  (`mlconf.monitor.drift.feature_drift`: every default test on every feature, p-values
  corrected, levels set) — the raw reference rows are not needed;
- `plain`: generate both tables and compute the same statistics the plain way, with
  scipy per column on the raw arrays (ks_2samp, wasserstein_distance, chi2_contingency,
  jensenshannon, PSI from np.histogram over the reference's quantile bins).

The tables: 40 numeric columns (normal, exponential, integer-valued) and 10 string
columns (20 categories each); in the current table 4 numeric and 2 string columns are
shifted. Each child also prints the drifted features it found, which must agree.

    python benchmarks/monitor.py                 # 1M rows
    python benchmarks/monitor.py --rows 100000   # quick check

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import PYTHON, RESULTS_DIR, machine, measure

NUMERIC, CATEGORICAL = 40, 10
SHIFTED_NUMERIC, SHIFTED_CATEGORICAL = ("n00", "n01", "n02", "n03"), ("c00", "c01")
TARGET_SECONDS, TARGET_GB = 10.0, 2.0
HERE = Path(__file__).resolve()


def table(rows: int, seed: int, shifted: bool) -> Any:
    """The synthetic table; `shifted` moves a few columns on purpose."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        name = f"n{i:02d}"
        kind = i % 3
        if kind == 0:
            values = rng.normal(0, 1, rows)
        elif kind == 1:
            values = rng.exponential(1, rows)
        else:
            values = rng.integers(0, 50, rows).astype(float)
        if shifted and name in SHIFTED_NUMERIC:
            values = values + 0.5 * values.std()
        columns[name] = values
    labels = np.array([f"cat-{k:02d}" for k in range(20)], dtype=object)
    weights = np.linspace(1, 3, 20)
    for i in range(CATEGORICAL):
        name = f"c{i:02d}"
        p = weights[::-1] if shifted and name in SHIFTED_CATEGORICAL else weights
        codes = rng.choice(20, size=rows, p=p / p.sum())
        columns[name] = pd.array(labels[codes], dtype="str")
    return pd.DataFrame(columns)


def child_profile(rows: int, out: Path) -> dict[str, Any]:
    from mlconf.monitor.reference import build_reference

    reference = table(rows, seed=1, shifted=False)
    started = time.perf_counter()
    profile = build_reference(reference, list(reference.columns), task="classification")
    seconds = time.perf_counter() - started
    out.write_text(json.dumps(profile))
    return {"profile_seconds": seconds}


def child_mlconf(rows: int, reference_path: Path) -> dict[str, Any]:
    from mlconf.monitor.config import MonitoringConfig
    from mlconf.monitor.drift import feature_drift
    from mlconf.registry import REGISTRY

    REGISTRY.load_builtins()
    reference = json.loads(reference_path.read_text())
    current = table(rows, seed=2, shifted=True)
    started = time.perf_counter()
    summary, _ = feature_drift(reference, current, MonitoringConfig())
    seconds = time.perf_counter() - started
    return {"drift_seconds": seconds, "drifted": sorted(summary["drifted"])}


def child_plain(rows: int) -> dict[str, Any]:
    """The same statistics written plainly: scipy on the raw columns, one at a time."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference = table(rows, seed=1, shifted=False)
    current = table(rows, seed=2, shifted=True)
    started = time.perf_counter()

    def psi(p: Any, q: Any) -> float:
        p = np.clip(p / p.sum(), 1e-4, None)
        q = np.clip(q / q.sum(), 1e-4, None)
        return float(np.sum((q - p) * np.log(q / p)))

    drifted, ks_p, chi_p = [], {}, {}
    psis: dict[str, float] = {}
    for name in reference.columns:
        ref, cur = reference[name], current[name]
        if name.startswith("n"):
            r, c = ref.to_numpy(), cur.to_numpy()
            edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
            bins = np.concatenate(([-np.inf], edges, [np.inf]))
            psis[name] = psi(np.histogram(r, bins)[0], np.histogram(c, bins)[0])
            ks_p[name] = stats.ks_2samp(r, c).pvalue
            w = stats.wasserstein_distance(r, c) / r.std()
            if psis[name] >= 0.2 or w >= 0.2:
                drifted.append(name)
        else:
            counts = ref.value_counts()
            now = cur.value_counts().reindex(counts.index, fill_value=0)
            psis[name] = psi(counts.to_numpy(float), now.to_numpy(float))
            contingency = [counts.to_numpy(float), now.to_numpy(float)]
            chi_p[name] = stats.chi2_contingency(contingency, correction=False).pvalue
            js = jensenshannon(counts.to_numpy(float), now.to_numpy(float), base=2)
            if psis[name] >= 0.2 or js >= 0.2:
                drifted.append(name)
    for pvalues in (ks_p, chi_p):
        adjusted = stats.false_discovery_control(list(pvalues.values()))
        drifted += [n for n, p in zip(pvalues, adjusted, strict=True) if p < 0.01]
    seconds = time.perf_counter() - started
    return {"drift_seconds": seconds, "drifted": sorted(set(drifted))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["profile", "mlconf", "plain"])
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--result", type=Path)
    ns = parser.parse_args()
    if ns.child:
        if ns.child == "profile":
            out = child_profile(ns.rows, ns.reference)
        elif ns.child == "mlconf":
            out = child_mlconf(ns.rows, ns.reference)
        else:
            out = child_plain(ns.rows)
        ns.result.write_text(json.dumps(out))
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = RESULTS_DIR / f"monitor-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    reference = work / "reference.json"
    runs: dict[str, Any] = {}
    for child in ("profile", "mlconf", "plain"):
        result = work / f"{child}.json"
        command = [
            PYTHON, str(HERE), "--child", child, "--rows", str(ns.rows),
            "--reference", str(reference), "--result", str(result),
        ]  # fmt: skip
        measured = measure(command, work / f"{child}.log")
        if measured.returncode != 0:
            raise SystemExit(f"{child} failed; see {work / f'{child}.log'}")
        runs[child] = {
            "wall_seconds": round(measured.wall_s, 2),
            "peak_rss_mb": round(measured.peak_rss_mb),
            "others_busy": measured.others_busy,
            **json.loads(result.read_text()),
        }
        print(f"{child:8s} {json.dumps(runs[child])}", flush=True)
    expected = sorted([*SHIFTED_NUMERIC, *SHIFTED_CATEGORICAL])
    report = {
        "rows": ns.rows,
        "features": NUMERIC + CATEGORICAL,
        "machine": machine(),
        "runs": runs,
        "expected_drifted": expected,
        "targets": {"seconds": TARGET_SECONDS, "peak_gb": TARGET_GB},
        "met": {
            "seconds": runs["mlconf"]["drift_seconds"] < TARGET_SECONDS,
            "peak_gb": runs["mlconf"]["peak_rss_mb"] / 1024 < TARGET_GB,
            "faster_than_plain": runs["mlconf"]["drift_seconds"] <= runs["plain"]["drift_seconds"],
            "found_the_shifted": runs["mlconf"]["drifted"] == expected,
        },
    }
    (RESULTS_DIR / f"monitor-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["met"]))


if __name__ == "__main__":
    main()
