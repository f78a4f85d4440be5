"""Drift on N current rows x 50 features against an N-row reference: mlconf vs plain numpy.

Child processes of this one, alternating which goes first, `--repeat` times, each timed
from outside (wall, peak RSS via wait4) and, around the computation alone, with the same
perf_counter in each child. Every child generates both tables the same way (seeded).

- `mlconf`: build mlconf's reference profile from the reference table (what the save stage
  does at training time: quantile bins, 1,000 quantiles, category counts) and run the drift
  step against it (`mlconf.monitoring.drift.feature_drift`: every default test on every
  feature, p-values corrected, levels set). Both are timed: the profile is mlconf's
  reference work, as the plain side's work on the raw reference is timed.
- `plain`: the same statistics computed exactly, plainly but not naively: each numeric
  column of both tables sorted once, KS, Wasserstein and decile PSI from the sorted
  arrays; each string column counted once (chi-square of the contingency table,
  Jensen-Shannon, PSI).
- `naive` (with --naive): scipy per column on the raw arrays (ks_2samp,
  wasserstein_distance each sort again), the earlier baseline.

mlconf's KS and Wasserstein come from the 1,000 stored quantiles, not the raw reference:
the script reports their largest error against the exact values of `plain`.

The tables: 40 numeric columns (normal, exponential, integer-valued) and 10 string
columns (20 categories each); in the current table 4 numeric and 2 string columns are
shifted. Each child also reports the drifted features it found, which must agree.

    python benchmarks/monitor.py                           # 200k rows, 3 repeats
    python benchmarks/monitor.py --rows 1000000 --naive    # the issue's size

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import (
    PYTHON,
    RESULTS_DIR,
    add_common_options,
    machine,
    measure,
    provenance,
    ratio_spread,
    same_environment,
    spread,
    wait_for_quiet,
)

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


def child_mlconf(rows: int) -> dict[str, Any]:
    """mlconf: build the reference profile (the save stage's work at training time) and run
    the drift step against it. Both count: the profile is the reference work."""
    from mlconf.config.monitoring import MonitoringConfig
    from mlconf.core.component_registry import REGISTRY
    from mlconf.ml.reference import build_reference
    from mlconf.monitoring.drift import feature_drift

    REGISTRY.load_builtins()
    reference = table(rows, seed=1, shifted=False)
    current = table(rows, seed=2, shifted=True)
    started = time.perf_counter()
    profile = build_reference(reference, list(reference.columns), task="classification")
    profiled = time.perf_counter()
    summary, _ = feature_drift(profile, current, MonitoringConfig())
    done = time.perf_counter()
    statistics = {
        row["feature"]: {
            name: row["tests"][name]["statistic"]
            for name in ("ks", "wasserstein")
            if name in row["tests"]
        }
        for row in summary["features"]
    }
    return {
        "seconds": done - started,
        "profile_seconds": profiled - started,
        "drift_seconds": done - profiled,
        "quantiles": profile["settings"]["quantiles"],
        "drifted": sorted(summary["drifted"]),
        "statistics": statistics,
    }


def _psi(p: Any, q: Any) -> float:
    import numpy as np

    p = np.clip(p / p.sum(), 1e-4, None)
    q = np.clip(q / q.sum(), 1e-4, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _verdicts(
    psis: dict[str, float],
    distances: dict[str, float],
    pvalues: tuple[dict[str, float], dict[str, float]],
) -> list[str]:
    """Drifted: PSI or the distance (Wasserstein / JS) at 0.2 or more, or a test's
    Benjamini-Hochberg adjusted p-value below 0.01 (mlconf's default alert levels)."""
    from scipy import stats

    drifted = [n for n in psis if psis[n] >= 0.2 or distances[n] >= 0.2]
    for found in pvalues:
        adjusted = stats.false_discovery_control(list(found.values()))
        drifted += [n for n, p in zip(found, adjusted, strict=True) if p < 0.01]
    return sorted(set(drifted))


def child_plain(rows: int) -> dict[str, Any]:
    """The same statistics, exact, written plainly but not naively: each numeric column of
    both tables is sorted once, and KS, Wasserstein and the decile PSI all come from the
    sorted arrays (searchsorted); each string column is counted once."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference = table(rows, seed=1, shifted=False)
    current = table(rows, seed=2, shifted=True)
    started = time.perf_counter()
    ks_p, chi_p, psis, distances = {}, {}, {}, {}
    statistics: dict[str, dict[str, float]] = {}
    for name in reference.columns:
        if name.startswith("n"):
            r = np.sort(reference[name].to_numpy())
            c = np.sort(current[name].to_numpy())
            nr, nc = r.size, c.size
            edges = np.unique(r[(np.arange(1, 10) * nr) // 10])
            psis[name] = _psi(
                np.diff(np.searchsorted(r, edges, "left"), prepend=0, append=nr),
                np.diff(np.searchsorted(c, edges, "left"), prepend=0, append=nc),
            )
            both = np.sort(np.concatenate((r, c)), kind="stable")  # a merge of two runs
            cdf_r = np.searchsorted(r, both, "right") / nr
            cdf_c = np.searchsorted(c, both, "right") / nc
            ks = float(np.abs(cdf_r - cdf_c).max())
            ks_p[name] = float(stats.kstwo.sf(ks, round(nr * nc / (nr + nc))))
            raw = float(np.dot(np.abs(cdf_r - cdf_c)[:-1], np.diff(both)))
            distances[name] = raw / float(r.std())
            statistics[name] = {"ks": ks, "wasserstein": distances[name]}
        else:
            counts = reference[name].value_counts()
            now = current[name].value_counts().reindex(counts.index, fill_value=0)
            a, b = counts.to_numpy(float), now.to_numpy(float)
            psis[name] = _psi(a, b)
            chi_p[name] = stats.chi2_contingency([a, b], correction=False).pvalue
            distances[name] = float(jensenshannon(a, b, base=2))
    drifted = _verdicts(psis, distances, (ks_p, chi_p))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "drifted": drifted, "statistics": statistics}


def child_naive(rows: int) -> dict[str, Any]:
    """The naive plain version (scipy per column on the raw arrays: ks_2samp and
    wasserstein_distance each sort again), kept for comparison with the earlier figure."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference = table(rows, seed=1, shifted=False)
    current = table(rows, seed=2, shifted=True)
    started = time.perf_counter()
    ks_p, chi_p, psis, distances = {}, {}, {}, {}
    for name in reference.columns:
        ref, cur = reference[name], current[name]
        if name.startswith("n"):
            r, c = ref.to_numpy(), cur.to_numpy()
            edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
            bins = np.concatenate(([-np.inf], edges, [np.inf]))
            psis[name] = _psi(np.histogram(r, bins)[0], np.histogram(c, bins)[0])
            ks_p[name] = stats.ks_2samp(r, c).pvalue
            distances[name] = stats.wasserstein_distance(r, c) / r.std()
        else:
            counts = ref.value_counts()
            now = cur.value_counts().reindex(counts.index, fill_value=0)
            a, b = counts.to_numpy(float), now.to_numpy(float)
            psis[name] = _psi(a, b)
            chi_p[name] = stats.chi2_contingency([a, b], correction=False).pvalue
            distances[name] = float(jensenshannon(a, b, base=2))
    drifted = _verdicts(psis, distances, (ks_p, chi_p))
    return {"seconds": time.perf_counter() - started, "drifted": drifted}


CHILDREN = {"mlconf": child_mlconf, "plain": child_plain, "naive": child_naive}


def approximation_error(mlconf: dict[str, Any], exact: dict[str, Any]) -> dict[str, Any]:
    """mlconf's KS and Wasserstein (from the stored quantiles) against the exact values."""
    out: dict[str, Any] = {}
    for test in ("ks", "wasserstein"):
        errors = {
            name: abs(mlconf[name][test] - exact[name][test]) for name in exact if name in mlconf
        }
        worst = max(errors, key=errors.__getitem__)
        out[test] = {
            "max_abs_error": errors[worst],
            "worst_feature": worst,
            "exact_there": exact[worst][test],
            "median_abs_error": statistics.median(errors.values()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender")
    parser.add_argument(
        "--naive", action="store_true", help="also run the naive scipy-per-column version"
    )
    parser.add_argument("--max-busy", type=float, help="as in overhead.py")
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--result", type=Path)
    add_common_options(parser)
    ns = parser.parse_args()
    if ns.child:
        ns.result.write_text(json.dumps(CHILDREN[ns.child](ns.rows)))
        return
    same_environment(ns.omp_wait_policy)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    work = RESULTS_DIR / f"monitor-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    start = provenance()
    names = ["mlconf", "plain", *(["naive"] if ns.naive else [])]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(ns.repeat):
        for child in names if i % 2 == 0 else names[::-1]:
            wait_for_quiet(ns.max_busy)
            result = work / f"{child}-{i}.json"
            command = [
                str(PYTHON), str(HERE), "--child", child, "--rows", str(ns.rows),
                "--result", str(result),
            ]  # fmt: skip
            measured = measure(command, work / f"{child}-{i}.log")
            if measured.returncode != 0:
                raise SystemExit(f"{child} failed; see {work / f'{child}-{i}.log'}")
            run = {**asdict(measured), **json.loads(result.read_text())}
            runs[child].append(run)
            print(
                f"  {child:<6} run {i + 1}/{ns.repeat}: computation {run['seconds']:6.2f} s, "
                f"child wall {measured.wall_s:6.1f} s, peak RSS {measured.peak_rss_mb:5.0f} MB, "
                f"load average {measured.load_1min:.1f}, drifted {','.join(run['drifted'])}",
                flush=True,
            )
    expected = sorted([*SHIFTED_NUMERIC, *SHIFTED_CATEGORICAL])
    medians = {
        name: {
            "seconds": spread([r["seconds"] for r in rs]),
            "wall_s": spread([r["wall_s"] for r in rs]),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
        }
        for name, rs in runs.items()
    }
    m, p = runs["mlconf"], runs["plain"]
    error = approximation_error(m[0]["statistics"], p[0]["statistics"])
    report = {
        "rows": ns.rows,
        "features": NUMERIC + CATEGORICAL,
        "provenance": start,
        "provenance_end": provenance(),
        "machine": machine(),
        "runs": runs,
        "medians": medians,
        "ratio_seconds": ratio_spread([r["seconds"] for r in m], [r["seconds"] for r in p]),
        "ratio_wall": ratio_spread([r["wall_s"] for r in m], [r["wall_s"] for r in p]),
        "profile_seconds": spread([r["profile_seconds"] for r in m]),
        "drift_seconds": spread([r["drift_seconds"] for r in m]),
        "approximation_error": error,
        "expected_drifted": expected,
        "targets": {"seconds": TARGET_SECONDS, "peak_gb": TARGET_GB},
    }
    (RESULTS_DIR / f"monitor-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{ns.rows:,} current rows x 50 features against a {ns.rows:,}-row reference")
    for name, med in medians.items():
        sec, wall = med["seconds"], med["wall_s"]
        print(
            f"  {name:<6} computation median {sec['median']:.2f} s ({sec['min']:.2f}-"
            f"{sec['max']:.2f}), child wall {wall['median']:.1f} s, peak RSS "
            f"{med['peak_rss_mb']:.0f} MB"
        )
    prof, drift = report["profile_seconds"], report["drift_seconds"]
    print(
        f"  mlconf's computation = reference profile {prof['median']:.2f} s + drift "
        f"{drift['median']:.2f} s (medians)"
    )
    ratio = report["ratio_seconds"]
    print(
        f"mlconf / plain (computation, paired runs): median {ratio['median']:.2f} "
        f"({ratio['min']:.2f}-{ratio['max']:.2f}); child wall "
        f"{report['ratio_wall']['median']:.2f}"
    )
    for test, e in error.items():
        print(
            f"{test} from {m[0]['quantiles']} stored quantiles: largest error "
            f"{e['max_abs_error']:.2g} ({e['worst_feature']}, exact {e['exact_there']:.4g}), "
            f"median {e['median_abs_error']:.2g}"
        )
    for name, rs in runs.items():
        same = all(r["drifted"] == expected for r in rs)
        print(f"{name}: found exactly the shifted features in every run: {same}")
    end = report["provenance_end"]
    print(
        f"commit {start['commit']}{' (dirty)' if start['dirty'] else ''}, {start['utc']} to "
        f"{end['utc']} UTC, load average {start['load_average'][0]:.1f} -> "
        f"{end['load_average'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
