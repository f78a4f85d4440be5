"""Batch scoring: `mlconf predict` against the fitted pipeline's predict_proba in memory.

Trains the benchmark model once (`mlconf train experiment=bench` on the 100k-row synthetic
table of benchmarks/overhead.py), writes the 1M x 50 table as Parquet, then runs, each in its
own child process of this one:
- `memory`: read the whole table, load the model, time `pipeline.predict_proba(frame)`;
- `mlconf predict` on the Parquet file, Parquet output, chunk_rows 50,000 and 200,000.
Reports wall time and peak RSS of each child, and the ratio of mlconf's scoring loop (read,
validate, score, write) to the in-memory predict_proba call.

    python benchmarks/batch.py                     # 1M rows
    python benchmarks/batch.py --rows 200000 --chunks 20000 80000

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import (
    DATA_DIR,
    MLCONF,
    PYTHON,
    RESULTS_DIR,
    dataset,
    machine,
    measure,
    mlconf_command,
    warm_page_cache,
)

MAX_WALL_RATIO = 1.3
TRAIN_ROWS = 100_000
# pyarrow decodes a whole row group before it slices batches off it, so a Parquet file's
# row groups bound memory as much as chunk_rows does: write them like a large file would be.
ROW_GROUP = 100_000


def parquet_table(rows: int, seed: int) -> Path:
    """The synthetic CSV of overhead.py without its target, as Parquet in row groups of
    ROW_GROUP rows (made once)."""
    path = DATA_DIR / f"{dataset(rows, seed).stem}-features-rg{ROW_GROUP}.parquet"
    if not path.is_file():
        import pandas as pd

        print(f"writing {path.name} ...", flush=True)
        frame = pd.read_csv(dataset(rows, seed)).drop(columns=["target"])
        frame.to_parquet(path, index=False, row_group_size=ROW_GROUP)
    return path


def train(seed: int, out: Path) -> Path:
    model = out / "model-run" / "model"
    if not (model / "manifest.json").is_file():
        print(f"training the benchmark model on {TRAIN_ROWS:,} rows ...", flush=True)
        command = mlconf_command(dataset(TRAIN_ROWS, seed), out / "model-run")
        subprocess.run([*command, "report.enabled=false"], check=True, stdout=subprocess.DEVNULL)
    return model


def memory_child(model_dir: str, table: str, result: str) -> None:
    """The contender: the whole frame in memory, one predict_proba call."""
    import pandas as pd

    from mlconf import load_model

    model = load_model(model_dir)
    frame = pd.read_parquet(table)[model.input_columns]
    start = time.perf_counter()
    model.pipeline.predict_proba(frame)
    seconds = time.perf_counter() - start
    Path(result).write_text(json.dumps({"predict_proba_s": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = RESULTS_DIR / f"batch-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    model = train(args.seed, RESULTS_DIR / "batch-model")
    table = parquet_table(args.rows, args.seed)
    warm_page_cache(table)
    report: dict[str, Any] = {"date": stamp, "rows": args.rows, "machine": machine(), "runs": {}}

    memory_json = out / "memory.json"
    command = [str(PYTHON), __file__, "--memory-child", str(model), str(table), str(memory_json)]
    m = measure(command, out / "memory.log")
    if m.returncode:
        sys.exit(f"the in-memory child failed: {(out / 'memory.log').read_text()[-2000:]}")
    proba_s = json.loads(memory_json.read_text())["predict_proba_s"]
    report["runs"]["memory"] = {"wall_s": m.wall_s, "rss_mb": m.peak_rss_mb, "scoring_s": proba_s}
    print(
        f"in memory:        child {m.wall_s:6.1f} s, predict_proba {proba_s:6.1f} s, "
        f"peak RSS {m.peak_rss_mb:6.0f} MB",
        flush=True,
    )
    for chunk in args.chunks:
        target = out / f"scored-{chunk}.parquet"
        log = out / f"predict-{chunk}.log"
        command = [str(MLCONF), "predict", f"model={model}", f"input={table}"]
        command += [f"output={target}", f"chunk_rows={chunk}"]
        r = measure(command, log)
        text = log.read_text()
        if r.returncode:
            sys.exit(f"mlconf predict failed:\n{text[-2000:]}")
        rate = float(re.search(r"\(([\d,]+) rows/s\)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
        scoring_s = args.rows / rate
        report["runs"][f"predict-{chunk}"] = {
            "wall_s": r.wall_s,
            "rss_mb": r.peak_rss_mb,
            "scoring_s": scoring_s,
            "ratio_to_predict_proba": scoring_s / proba_s,
            "wall_ratio": r.wall_s / m.wall_s,
        }
        target.unlink(missing_ok=True)
        print(
            f"predict {chunk:>7,} rows/chunk: child {r.wall_s:6.1f} s, scoring loop "
            f"{scoring_s:6.1f} s ({scoring_s / proba_s:.2f}x predict_proba; child wall "
            f"{r.wall_s / m.wall_s:.2f}x), peak RSS {r.peak_rss_mb:6.0f} MB",
            flush=True,
        )
    path = RESULTS_DIR / f"batch-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    ratios = [v["ratio_to_predict_proba"] for k, v in report["runs"].items() if k != "memory"]
    verdict = "met" if min(ratios) <= MAX_WALL_RATIO else "NOT met"
    print(f"best scoring-loop ratio {min(ratios):.2f} (target <= {MAX_WALL_RATIO}): {verdict}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
