"""Batch scoring: `mlconf predict` against a plain chunked loop through the same model.

Trains the benchmark model once (`mlconf train experiment=bench` on the 100k-row synthetic
table of benchmarks/overhead.py), writes the rows x 50 feature table once (CSV by default,
or Parquet in row groups of 100k rows), then runs, each as a child process of this one,
alternating which goes first, `--repeat` times:

- `mlconf`: `mlconf predict model=... input=... output=... chunk_rows=N`;
- `plain`: this script as a plain loop: load the same model folder's skops pipeline with
  `skops.io.load` (no mlconf import, no hash check), read the same file in chunks of
  the same N rows (pandas' chunked CSV reader, or pyarrow batches), call the pipeline's
  `predict_proba` on each chunk, and append row, label and probabilities to the same kind
  of output file. No schema checks, no quarantine, no atomic rename.

Both are timed the same way, from outside: wall time from spawn to reap (start-up, imports
and model load included on both sides), CPU and peak RSS from wait4. Reported: the median
of each side, and the ratio mlconf / plain of each pair of runs (median, min, max).

    python benchmarks/batch.py                          # 200k rows, 50k chunks, 3 repeats
    python benchmarks/batch.py --rows 1000000 --repeat 5
    python benchmarks/batch.py --format parquet --chunk-rows 200000

Method, machine and results: benchmarks/README.md. Never used by the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import (
    DATA_DIR,
    MLCONF,
    PYTHON,
    RESULTS_DIR,
    Measured,
    add_common_options,
    dataset,
    machine,
    measure,
    mlconf_command,
    provenance,
    ratio_spread,
    same_environment,
    spread,
    wait_for_quiet,
    warm_page_cache,
)

MAX_WALL_RATIO = 1.3  # the target: mlconf predict <= 1.3 x the plain loop
TRAIN_ROWS = 100_000
# pyarrow decodes a whole row group before it slices batches off it, so a Parquet file's
# row groups bound memory as much as chunk_rows does: write them like a large file would be.
ROW_GROUP = 100_000


def feature_table(rows: int, seed: int, fmt: str) -> Path:
    """The synthetic CSV of overhead.py without its target, as CSV or Parquet (made once)."""
    stem = dataset(rows, seed).stem
    path = DATA_DIR / (
        f"{stem}-features.csv" if fmt == "csv" else f"{stem}-features-rg{ROW_GROUP}.parquet"
    )
    if not path.is_file():
        import pandas as pd

        print(f"writing {path.name} ...", flush=True)
        frame = pd.read_csv(dataset(rows, seed)).drop(columns=["target"])
        tmp = path.with_name(path.name + ".tmp")
        if fmt == "csv":
            frame.to_csv(tmp, index=False, float_format="%.6g")
        else:
            frame.to_parquet(tmp, index=False, row_group_size=ROW_GROUP)
        tmp.replace(path)
    return path


def train(seed: int, out: Path) -> Path:
    model = out / "model-run" / "model"
    if not (model / "manifest.json").is_file():
        print(f"training the benchmark model on {TRAIN_ROWS:,} rows ...", flush=True)
        command = mlconf_command(dataset(TRAIN_ROWS, seed), out / "model-run")
        subprocess.run(
            [*command, "report.enabled=false", "deploy.register.enabled=false"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return model


def plain_child(model_dir: str, table: str, output: str, chunk_rows: int) -> None:
    """The plain loop: read a chunk, predict_proba, append it to the output."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io as sio

    # The same model folder, loaded the plain way: no mlconf import, no hash check.
    manifest = json.loads((Path(model_dir) / "manifest.json").read_text())
    path = Path(model_dir) / "pipeline.skops"
    pipeline = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    columns, classes = manifest["input_columns"], np.asarray(manifest["classes"])
    if table.endswith(".csv"):
        chunks = pd.read_csv(table, chunksize=chunk_rows)
    else:
        batches = pq.ParquetFile(table).iter_batches(batch_size=chunk_rows)
        chunks = (batch.to_pandas() for batch in batches)
    writer: Any = None
    first_row = 1
    for chunk in chunks:
        proba = pipeline.predict_proba(chunk[columns])
        scored = pd.DataFrame({"row": np.arange(first_row, first_row + len(chunk))})
        scored["prediction"] = classes[proba.argmax(axis=1)]
        for j, name in enumerate(classes):
            scored[f"proba_{name}"] = proba[:, j]
        first_row += len(chunk)
        if output.endswith(".csv"):
            scored.to_csv(output, mode="a", header=writer is None, index=False)
            writer = True
        else:
            arrow = pa.Table.from_pandas(scored, preserve_index=False)
            writer = writer or pq.ParquetWriter(output, arrow.schema)
            writer.write_table(arrow)
    if writer not in (None, True):
        writer.close()
    print(f"plain: scored {first_row - 1:,} rows", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="the same for both")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-busy", type=float, help="as in overhead.py")
    parser.add_argument("--plain-child", nargs=4, help=argparse.SUPPRESS)
    add_common_options(parser)
    args = parser.parse_args()
    if args.plain_child:
        model_dir, table, output, chunk = args.plain_child
        plain_child(model_dir, table, output, int(chunk))
        return
    same_environment(args.omp_wait_policy)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = RESULTS_DIR / f"batch-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    model = train(args.seed, RESULTS_DIR / "batch-model")
    table = feature_table(args.rows, args.seed, args.format)
    warm_page_cache(table)
    report: dict[str, Any] = {
        "date": stamp,
        "provenance": provenance(),
        "rows": args.rows,
        "chunk_rows": args.chunk_rows,
        "format": args.format,
        "repeat": args.repeat,
        "machine": machine(),
    }
    runs: dict[str, list[Measured]] = {"mlconf": [], "plain": []}
    for i in range(args.repeat):
        for who in ("mlconf", "plain") if i % 2 == 0 else ("plain", "mlconf"):
            wait_for_quiet(args.max_busy)
            target = out / f"{who}-{i}.{args.format}"
            log = out / f"{who}-{i}.log"
            if who == "mlconf":
                command = [str(MLCONF), "predict", f"model={model}", f"input={table}"]
                command += [f"output={target}", f"chunk_rows={args.chunk_rows}"]
            else:
                command = [str(PYTHON), __file__, "--plain-child", str(model), str(table)]
                command += [str(target), str(args.chunk_rows)]
            r = measure(command, log)
            if r.returncode:
                sys.exit(f"{who} failed:\n{log.read_text()[-2000:]}")
            target.unlink(missing_ok=True)
            runs[who].append(r)
            print(
                f"  {who:<6} run {i + 1}/{args.repeat}: {r.wall_s:6.1f} s wall, {r.cpu_s:6.1f} s "
                f"CPU, peak RSS {r.peak_rss_mb:6.0f} MB (load average {r.load_1min:.1f}, "
                f"others busy {r.others_busy or 0:.0%})",
                flush=True,
            )
    walls = {who: [r.wall_s for r in rs] for who, rs in runs.items()}
    report["runs"] = {who: [asdict(r) for r in rs] for who, rs in runs.items()}
    report["wall_s"] = {who: spread(w) for who, w in walls.items()}
    report["cpu_s"] = {who: statistics.median(r.cpu_s for r in rs) for who, rs in runs.items()}
    report["rss_mb"] = {
        who: statistics.median(r.peak_rss_mb for r in rs) for who, rs in runs.items()
    }
    report["wall_ratio"] = ratio_spread(walls["mlconf"], walls["plain"])
    report["provenance_end"] = provenance()
    path = RESULTS_DIR / f"batch-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    ratio = report["wall_ratio"]
    print(f"\n{args.rows:,} rows x 50, {args.format}, {args.chunk_rows:,} rows per chunk, both")
    for who in ("mlconf", "plain"):
        w = report["wall_s"][who]
        print(
            f"  {who:<6} wall median {w['median']:.1f} s (range {w['min']:.1f}-{w['max']:.1f}), "
            f"CPU {report['cpu_s'][who]:.1f} s, peak RSS {report['rss_mb'][who]:.0f} MB"
        )
    verdict = "met" if ratio["median"] <= MAX_WALL_RATIO else "missed"
    print(
        f"wall ratio mlconf / plain, paired runs: median {ratio['median']:.2f} "
        f"(range {ratio['min']:.2f}-{ratio['max']:.2f}); target <= {MAX_WALL_RATIO}: {verdict}"
    )
    start, end = report["provenance"], report["provenance_end"]
    print(
        f"commit {start['commit']}{' (dirty)' if start['dirty'] else ''}, {start['utc']} to "
        f"{end['utc']} UTC, load average {start['load_average'][0]:.1f} -> "
        f"{end['load_average'][0]:.1f}"
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
