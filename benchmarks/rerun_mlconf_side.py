"""Re-run mlconf's side of a recorded `vs_flaml.py` round, with overrides, to probe a change.

A full round runs FLAML too and takes twice as long. To see whether a tuner change moves
mlconf's scores at all, this runs each recorded mlconf command again (same table, seed,
budget and split) from a snapshot of the code, adds the overrides, and prints the test
score beside the round's own mlconf and FLAML scores. It is a probe, not a comparison:
FLAML is not re-run, and its recorded score came from another moment's load. A change
that holds up goes into a full round (benchmarks/README.md, "Tuning at realistic sizes").

    python benchmarks/rerun_mlconf_side.py results/vs_flaml-<stamp>.json paced \\
        --snapshot /tmp/snap --tables mpls_stops gss_wages -- tune.prune_every_rounds=0
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MLCONF = Path(sys.executable).parent / "mlconf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("round", type=Path, help="a vs_flaml-<stamp>.json of benchmarks/results")
    parser.add_argument("label", help="a name for this probe (its runs go to --out/<label>)")
    parser.add_argument(
        "--snapshot",
        type=Path,
        required=True,
        help="the code to run: a `git archive` of a commit, with benchmarks/data/issue18 copied in",
    )
    parser.add_argument("--tables", nargs="*", help="only these tables (default: all)")
    parser.add_argument(
        "--out", type=Path, default=HERE / "results" / "reruns", help="where the runs go"
    )
    parser.add_argument("overrides", nargs="*", help="extra `mlconf train` overrides")
    args = parser.parse_args()
    recorded = json.loads(args.round.read_text())
    # absolute: the runs start in the snapshot, and a relative PYTHONPATH would import
    # the installed mlconf instead, without a word
    args.snapshot = args.snapshot.resolve()
    out = args.out.resolve() / args.label
    out.mkdir(parents=True, exist_ok=True)
    for row in recorded["rows"]:
        if args.tables and row["dataset"] not in args.tables:
            continue
        rerun(row, args.snapshot, out / f"{row['dataset']}-s{row['seed']}", args)


def rerun(row: dict[str, Any], snapshot: Path, run_dir: Path, args: argparse.Namespace) -> None:
    command = [
        f"hydra.run.dir={run_dir}" if part.startswith("hydra.run.dir=") else part
        for part in _moved(row["mlconf"]["command"], snapshot)
    ]
    env = {**os.environ, "PYTHONPATH": str(snapshot)}
    began = time.monotonic()
    done = subprocess.run(
        [str(MLCONF), *command, *args.overrides],
        cwd=snapshot,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - began
    if done.returncode:
        print(f"{row['dataset']} seed {row['seed']}: mlconf failed\n{done.stderr[-2000:]}")
        return
    metric = row["metric"]
    score = json.loads((run_dir / "metrics.json").read_text())["test"]["model"][metric]["value"]
    with (run_dir / "trials.csv").open() as handle:
        trials = list(csv.DictReader(handle))
    complete = sum(t["state"] == "COMPLETE" for t in trials)
    print(
        f"{args.label} {row['dataset']} seed {row['seed']}: {metric} {score:.4f} "
        f"(recorded: mlconf {row['mlconf']['test']:.4f}, "
        f"FLAML {row['FLAML default']['test']:.4f}); "
        f"{len(trials)} trials ({complete} complete), {wall:.1f} s",
        flush=True,
    )


def _moved(command: list[str], snapshot: Path) -> list[str]:
    """The recorded command with the recorded snapshot's root replaced by `snapshot` (the
    root is what precedes /benchmarks/data/ in the table's path; small tables have none)."""
    roots = [
        part.partition("=")[2].split("/benchmarks/data/")[0]
        for part in command
        if part.startswith("data.sources.main.path=") and "/benchmarks/data/" in part
    ]
    if not roots:
        return list(command)
    return [part.replace(roots[0], str(snapshot)) for part in command]


if __name__ == "__main__":
    main()
