"""The explore stage and the report against training 200 xgboost trees, in one real run.

Runs `mlconf train experiment=bench` (the overhead benchmark's run: synthetic CSV, 50
columns, one-hot + scaling, xgboost with 200 trees) once as a child process, then reads
the stage timings from its run.json:

- explore + report: the `explore` stage (data profile and plots) and the `report` stage
  (report.html + model_card.md);
- training: the `train` stage (the 200-tree pipeline fit, plus the dummy baseline).

Then it times `mlconf report RUN_DIR` on its own (a rebuild without retraining, in a
new process) and reports the size of report.html. Target (issue 4): explore + report
<= 0.5 x training, report.html < 5 MB. Results: benchmarks/README.md.

    python benchmarks/report.py                 # 1M rows
    python benchmarks/report.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime

from overhead import MLCONF, RESULTS_DIR, dataset, machine, measure, mlconf_command

MAX_RATIO = 0.5
MAX_REPORT_BYTES = 5_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    csv = dataset(args.rows, args.seed)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    folder = RESULTS_DIR / stamp / f"report-{args.rows}"
    run_dir = folder / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    trained = measure(mlconf_command(csv, run_dir), folder / "train.log")
    if trained.returncode != 0:
        raise SystemExit(f"mlconf train failed; see {folder / 'train.log'}")
    stages = json.loads((run_dir / "run.json").read_text())["stages"]
    rebuilt = measure([str(MLCONF), "report", str(run_dir)], folder / "report.log")
    if rebuilt.returncode != 0:
        raise SystemExit(f"mlconf report failed; see {folder / 'report.log'}")

    explore_report = stages.get("explore", 0.0) + stages.get("report", 0.0)
    ratio = explore_report / stages["train"]
    size = (run_dir / "report.html").stat().st_size
    result = {
        "rows": args.rows,
        "stages": stages,
        "explore_plus_report_s": explore_report,
        "train_s": stages["train"],
        "ratio": ratio,
        "report_rebuild_wall_s": rebuilt.wall_s,
        "report_bytes": size,
        "machine": machine(),
    }
    print(f"rows                      {args.rows:,}")
    print(f"explore stage             {stages.get('explore', 0.0):8.2f} s")
    print(f"report stage              {stages.get('report', 0.0):8.2f} s")
    print(f"train stage (200 trees)   {stages['train']:8.2f} s")
    print(f"ratio                     {ratio:8.3f}  (target <= {MAX_RATIO})")
    print(f"mlconf report RUN_DIR     {rebuilt.wall_s:8.2f} s wall, new process")
    print(f"report.html               {size / 1e6:8.2f} MB (target < {MAX_REPORT_BYTES / 1e6:g})")
    met = ratio <= MAX_RATIO and size < MAX_REPORT_BYTES
    print("target met" if met else "target NOT met")
    out = RESULTS_DIR / f"report-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
