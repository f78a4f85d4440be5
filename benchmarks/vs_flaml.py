"""mlconf's tuned xgboost against FLAML at an equal wall-clock budget, on real data.

For each budget, dataset and seed (`--seeds`: the seed of mlconf's split and sampler and
FLAML's seed), run one after the other, never two at once, each in its own child process:

1. `mlconf train experiment=<dataset> seed=<seed> search=xgboost tune.n_trials=0
   tune.timeout=<budget - reserve>`: a timeout-only Optuna study, then the final fit,
   evaluation and save, all inside tune.timeout (the study stops early enough for the
   estimated refit and later stages, mlconf.ml.tuning.fidelity). The whole command counts
   against the budget. `--budget-from tune` (as in rounds 1-5): tune.timeout runs from the
   tune stage, and the reserve pays for start-up, loading and preparing the data.
   `--budget-from process`: tune.timeout runs from the process's start
   (`tune.timeout_from=process`), as FLAML's time_budget is its budget less its child's
   time since spawn, and the reserve only pays for the process's exit (1-2 s).
   tune.timeout is hard (mlconf.ml.tuning.deadline): no trial starts after it, and a
   running trial stops.
2. This script with `--flaml-child`: reads the training and test rows that the parent
   wrote (mlconf's own train/test parts, rebuilt by mlconf's load, validate, prepare and
   split stages and checked against the run's `data/split.csv`, outside any timer), runs
   `AutoML.fit(time_budget=<budget - the child's time since spawn - 1 s>,
   retrain_full="budget")` and writes its test predictions. Its budget pays for its own
   imports and reading, not for mlconf's; `retrain_full="budget"` puts FLAML's retraining
   of the best model inside its budget, as mlconf's final fit is inside tune.timeout
   (`--flaml-retrain true` is FLAML's default: retrain after the budget is spent).

Both models are scored here, on the same test rows, with the same scikit-learn metric
(the dataset's primary metric; FLAML optimises it too). One rule for both sides: over the
seeds, the mean paired difference mlconf - FLAML and its 95% t-interval; a difference is
"detected" only when the interval excludes 0, whichever side it favours.

    python benchmarks/vs_flaml.py --quick                          # 10 s, 1 seed, smoke run
    python benchmarks/vs_flaml.py --budgets 30 --seeds 0 1 2       # the run in the README
    python benchmarks/vs_flaml.py --budgets 300 --seeds 0 1 2 3 4  # the issue's budget

Needs `pip install "flaml[automl]"` (FLAML with lightgbm: its default estimator list).
Method, machine and results: benchmarks/README.md ("mlconf vs FLAML"). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
SMALL = ("breast_cancer", "wine", "diabetes", "cars")
# Issue 18's realistic tables (benchmarks/tables_issue18.py, configs in benchmarks/conf).
TABLES = ("flights", "gss_wages", "mpls_stops")
DATASETS = SMALL + TABLES
# FLAML as a user installs it (`pip install "flaml[automl]"`) pins xgboost<3, mlconf needs
# xgboost>=3: so FLAML gets a venv of its own, made by `--make-flaml-venv`.
FLAML_VENV = Path("/work/venvs/flaml")
# FLAML's name for mlconf's primary metric (lower-is-better losses are FLAML's business).
FLAML_METRIC = {"roc_auc": "roc_auc", "rmse": "rmse", "accuracy": "accuracy"}
HIGHER_IS_BETTER = {"roc_auc": True, "f1": True, "balanced_accuracy": True, "rmse": False}
# Stages FLAML has no counterpart for; on by default in mlconf, off here unless --full.
LEAN = [
    "explore.enabled=false",
    "explain.enabled=false",
    "report.enabled=false",
    "deploy.register.enabled=false",
]
CONTENDERS = {"FLAML default": "auto", "FLAML xgboost": "xgboost"}


# ---------------------------------------------------------------- shared data + scoring


def load_parts(run_dir: Path, scratch: Path) -> tuple[Any, dict[str, Any], list[str]]:
    """mlconf's config of `run_dir` and its train/validation/test parts, rebuilt by
    mlconf's own load, validate, prepare and split stages (in `scratch`), and checked
    against the run's split manifest, so both contenders see exactly the same rows."""
    import pandas as pd
    from omegaconf import OmegaConf
    from rich.console import Console

    from mlconf.ml.features import feature_columns
    from mlconf.run_state import RunState
    from mlconf.runner import typed
    from mlconf.stages import STAGES
    from mlconf.store.runs import RunRecord

    conf = typed(OmegaConf.load(run_dir / "config.yaml"))
    scratch.mkdir(parents=True, exist_ok=True)
    record = RunRecord(run_dir=scratch, experiment=conf.experiment_name, seed=conf.seed)
    ctx = RunState(conf=conf, run_dir=scratch, record=record, console=Console(quiet=True))
    for stage in ("load", "validate", "prepare", "split"):
        STAGES[stage](ctx)
    parts = ctx.parts
    manifest = pd.read_csv(run_dir / "data" / "split.csv")
    for name, frame in parts.items():
        expected = sorted(manifest.loc[manifest["part"] == name, "row"].tolist())
        if sorted(frame.index.tolist()) != expected:
            raise SystemExit(f"{name} part differs from {run_dir}/data/split.csv")
    return conf, parts, feature_columns(conf, parts["train"])


def score(
    metric: str, y_true: Any, y_pred: Any, proba: Any, classes: list[str], positive: Any
) -> float:
    """The primary metric with scikit-learn, for both contenders.

    Classification labels are mlconf's class codes (`classes` order, positive class last);
    `proba` columns follow the same order.
    """
    import numpy as np
    from sklearn import metrics as m

    if metric == "rmse":
        return float(m.root_mean_squared_error(y_true, y_pred))
    binary = len(classes) == 2
    if metric == "roc_auc":
        if binary:
            return float(m.roc_auc_score(np.asarray(y_true) == 1, np.asarray(proba)[:, 1]))
        return float(
            m.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(range(len(classes))))
        )
    if metric == "f1":
        if binary:
            return float(m.f1_score(y_true, y_pred, pos_label=1, zero_division=0.0))
        return float(m.f1_score(y_true, y_pred, average="macro", zero_division=0.0))
    if metric == "balanced_accuracy":
        return float(m.balanced_accuracy_score(y_true, y_pred))
    if metric == "accuracy":
        return float(m.accuracy_score(y_true, y_pred))
    raise SystemExit(f"no scikit-learn scorer here for metric '{metric}'")


def targets(conf: Any, parts: dict[str, Any]) -> tuple[Any, Any, list[str]]:
    """Encoded targets of the FLAML training rows and of the test rows, and the classes."""
    import pandas as pd

    from mlconf.ml.target import class_order, encode

    problem = conf.problem
    fit_frame = pd.concat([parts["train"], parts["validation"]])
    if problem.task == "classification":
        classes = class_order(parts["train"][problem.target], problem.positive_class)
        return (
            encode(fit_frame[problem.target], classes),
            encode(parts["test"][problem.target], classes),
            classes,
        )
    as_float = lambda s: s.to_numpy(dtype=float)  # noqa: E731
    return as_float(fit_frame[problem.target]), as_float(parts["test"][problem.target]), []


# ---------------------------------------------------------------- the FLAML child


def flaml_child(args: argparse.Namespace) -> None:
    import warnings

    import numpy as np
    import pandas as pd

    folder = Path(args.data)
    data = json.loads((folder / "meta.json").read_text())
    x_fit = pd.read_parquet(folder / "x_fit.parquet")
    x_test = pd.read_parquet(folder / "x_test.parquet")
    y_fit = np.load(folder / "y_fit.npy")
    task, primary, classes = data["task"], data["metric"], data["classes"]
    metric: Any = FLAML_METRIC.get(primary)
    if primary == "f1":
        metric = "f1" if len(classes) == 2 else "macro_f1"
    elif primary == "balanced_accuracy":
        metric = _balanced_accuracy_loss
    elif metric is None:
        raise SystemExit(f"no FLAML metric for '{primary}'")

    from flaml import AutoML

    started = float(args.started)
    budget = float(args.budget) - (time.time() - started) - args.predict_reserve
    automl = AutoML()
    settings: dict[str, Any] = {
        "task": task,
        "metric": metric,
        "time_budget": budget,
        "n_jobs": args.n_jobs,
        "seed": data["seed"],
        "verbose": 0,
        "estimator_list": args.estimators,  # "auto": FLAML's default list as installed
        # "budget": FLAML's retraining of the best model counts in its time_budget, as
        # mlconf's final fit counts in tune.timeout; FLAML's own default (True) retrains
        # after the budget is spent.
        "retrain_full": {"true": True, "false": False}.get(args.retrain, args.retrain),
    }
    fit_start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(x_fit, y_fit, **settings)
        fit_end = time.time()
        proba = automl.predict_proba(x_test) if task == "classification" else None
        y_pred = automl.predict(x_test)
    import flaml

    result = {
        "flaml_version": flaml.__version__,
        "time_budget_s": budget,
        "setup_s": fit_start - started,
        "fit_s": fit_end - fit_start,
        # config_history holds only the improvements; _iter_per_learner counts every trial
        "trials": int(sum(getattr(automl, "_iter_per_learner", {}).values())),
        "trials_per_learner": dict(getattr(automl, "_iter_per_learner", {})),
        "estimators": list(getattr(automl, "estimator_list", []) or []),
        "best_estimator": automl.best_estimator,
        "best_config": {k: _plain(v) for k, v in (automl.best_config or {}).items()},
        "y_pred": np.asarray(y_pred).tolist(),
        "proba": None if proba is None else np.asarray(proba).tolist(),
    }
    Path(args.out).write_text(json.dumps(result) + "\n")


def _balanced_accuracy_loss(
    X_val: Any, y_val: Any, estimator: Any, labels: Any, X_train: Any, y_train: Any, *args: Any
) -> tuple[float, dict[str, float]]:
    """FLAML custom metric (a loss, lower is better): 1 - balanced accuracy."""
    from sklearn.metrics import balanced_accuracy_score

    value = balanced_accuracy_score(y_val, estimator.predict(X_val))
    return 1.0 - value, {"balanced_accuracy": value}


def _plain(value: Any) -> Any:
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return value


# ---------------------------------------------------------------- the parent


def reserve_of(args: argparse.Namespace) -> float:
    """--reserve, or its default for the budget's start (--budget-from)."""
    if args.reserve is not None:
        return float(args.reserve)
    return 2.0 if args.budget_from == "process" else 15.0


def mlconf_command(
    dataset: str, seed: int, budget: float, run_dir: Path, args: argparse.Namespace
) -> list[str]:
    from overhead import MLCONF

    timeout = max(1.0, budget - reserve_of(args))
    table: list[str] = []
    if dataset in TABLES:
        from tables_issue18 import path

        table = [
            f"hydra.searchpath=[file://{HERE / 'conf'}]",
            f"data.sources.main.path={path(dataset)}",
        ]
    return [
        str(MLCONF),
        "train",
        f"experiment={dataset}",
        *table,
        f"seed={seed}",
        f"search={args.search}",
        "tune.n_trials=0",
        f"tune.timeout={timeout:g}",
        f"tune.timeout_from={args.budget_from}",
        f"split.validation_size={args.validation_size:g}",
        f"model.params.n_jobs={args.n_jobs}",
        f"hydra.run.dir={run_dir}",
        *([] if args.full else LEAN),
        *args.mlconf_override,
    ]


def flaml_command(
    data: Path, budget: float, out: Path, estimators: str, args: argparse.Namespace
) -> list[str]:
    return [
        str(args.flaml_python),
        str(Path(__file__).resolve()),
        "--flaml-child",
        "--data",
        str(data),
        "--budget",
        f"{budget:g}",
        "--out",
        str(out),
        "--n-jobs",
        str(args.n_jobs),
        "--predict-reserve",
        f"{args.predict_reserve:g}",
        "--estimators",
        estimators,
        "--retrain",
        args.flaml_retrain,
        "--started",
        "{started}",  # filled in right before the spawn
    ]


def timed_child(command: list[str], log: Path) -> Any:
    """overhead.measure with the child's spawn time passed to it (for FLAML's budget)."""
    from overhead import measure

    now = f"{time.time():.6f}"
    return measure([now if part == "{started}" else part for part in command], log)


def mlconf_test_score(run_dir: Path, conf: Any, parts: dict[str, Any], columns: list[str]) -> float:
    """Load mlconf's saved model, predict the test rows, score with scikit-learn."""
    import numpy as np

    from mlconf.store.artifacts import load_model

    _, y_test, classes = targets(conf, parts)
    model = load_model(run_dir / "model")
    x_test = parts["test"][columns]
    proba = model.predict_proba(x_test) if conf.problem.task == "classification" else None
    if conf.problem.task == "classification":
        assert list(model.classes) == classes, (model.classes, classes)
        y_pred = model.pipeline.predict(x_test[model.input_columns])  # codes, not labels
    else:
        y_pred = model.predict(x_test)
    return score(
        conf.problem.primary_metric,
        y_test,
        np.asarray(y_pred),
        proba,
        classes,
        conf.problem.positive_class,
    )


def write_fit_data(conf: Any, parts: dict[str, Any], columns: list[str], folder: Path) -> None:
    """The rows FLAML gets (train + validation parts) and the test rows, for its child."""
    import numpy as np
    import pandas as pd

    y_fit, _, classes = targets(conf, parts)
    folder.mkdir(parents=True, exist_ok=True)
    pd.concat([parts["train"], parts["validation"]])[columns].to_parquet(folder / "x_fit.parquet")
    parts["test"][columns].to_parquet(folder / "x_test.parquet")
    np.save(folder / "y_fit.npy", np.asarray(y_fit))
    meta = {
        "task": conf.problem.task,
        "metric": conf.problem.primary_metric,
        "classes": list(classes),
        "seed": conf.seed,
    }
    (folder / "meta.json").write_text(json.dumps(meta))


def bench_one(
    dataset: str, seed: int, budget: float, stamp: str, args: argparse.Namespace
) -> dict[str, Any]:
    """mlconf, then each FLAML contender, on one dataset, seed and budget."""
    import numpy as np

    folder = RESULTS_DIR / stamp / f"{dataset}-s{seed}-{budget:g}s"
    run_dir = folder / "mlconf-run"
    row: dict[str, Any] = {"dataset": dataset, "seed": seed, "budget_s": budget}

    print(f"[{dataset} seed {seed} {budget:g} s] mlconf ...", flush=True)
    command = mlconf_command(dataset, seed, budget, run_dir, args)
    mlconf = timed_child(command, folder / "mlconf.log")
    if mlconf.returncode != 0:
        raise SystemExit(f"mlconf failed; see {folder / 'mlconf.log'}")
    record = json.loads((run_dir / "run.json").read_text())
    trials = _mlconf_trials(run_dir)
    conf, parts, columns = load_parts(run_dir, folder / "score-scratch")
    metric = conf.problem.primary_metric
    _, y_test, classes = targets(conf, parts)
    mlconf_score = mlconf_test_score(run_dir, conf, parts, columns)
    reported = json.loads((run_dir / "metrics.json").read_text())["test"]["model"][metric]["value"]
    if abs(reported - mlconf_score) > 1e-9:
        raise SystemExit(f"mlconf's own test {metric} {reported} != scikit-learn's {mlconf_score}")
    row.update(
        metric=metric,
        higher_is_better=HIGHER_IS_BETTER.get(metric, True),
        rows={name: len(f) for name, f in parts.items()},
        mlconf={
            "test": mlconf_score,
            "wall_s": mlconf.wall_s,
            "cpu_s": mlconf.cpu_s,
            "load_1min": mlconf.load_1min,
            "others_busy": mlconf.others_busy,
            "tune_s": record["stages"].get("tune"),
            "stages_s": record["stages"],
            # tune.timeout covers tuning + the final fit (mlconf.ml.tuning.fidelity)
            "tune_train_s": record["stages"].get("tune", 0) + record["stages"].get("train", 0),
            "tuning_budget": record["counts"].get("tuning_budget"),
            **trials,
            "git": record.get("git"),
            "command": command[1:],
        },
    )
    print(
        f"  mlconf test {metric} {mlconf_score:.4f}, wall {mlconf.wall_s:.1f} s, "
        f"tune {row['mlconf']['tune_s']:.1f} s + final fit "
        f"{row['mlconf']['stages_s'].get('train', 0):.1f} s for tune.timeout "
        f"{max(1.0, budget - reserve_of(args)):g} s, {trials['trials']} trials "
        f"({trials['timed_out']} stopped by the deadline)",
        flush=True,
    )
    data = folder / "fit-data"
    write_fit_data(conf, parts, columns, data)
    for label in args.flaml:
        out = folder / f"{label}.json"
        print(f"[{dataset} seed {seed} {budget:g} s] {label} ...", flush=True)
        command = flaml_command(data, budget, out, CONTENDERS[label], args)
        res = timed_child(command, folder / f"{label}.log")
        if res.returncode != 0:
            raise SystemExit(f"{label} failed; see {folder / f'{label}.log'}")
        child = json.loads(out.read_text())
        proba = None if child["proba"] is None else np.asarray(child["proba"])
        value = score(metric, y_test, np.asarray(child["y_pred"]), proba, classes, None)
        row[label] = {
            "test": value,
            "wall_s": res.wall_s,
            "cpu_s": res.cpu_s,
            "load_1min": res.load_1min,
            "others_busy": res.others_busy,
            **{k: v for k, v in child.items() if k not in ("y_pred", "proba")},
        }
        print(
            f"  {label} test {metric} {value:.4f}, wall {res.wall_s:.1f} s, "
            f"fit {child['fit_s']:.1f} s, {child['trials']} trials, best "
            f"{child['best_estimator']}",
            flush=True,
        )
    return row


def _mlconf_trials(run_dir: Path) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_csv(run_dir / "trials.csv")
    stopped = frame.get("user_attr_timeout")
    return {
        "trials": len(frame),
        "completed": int((frame["state"] == "COMPLETE").sum()),
        "timed_out": 0 if stopped is None else int((stopped.astype(str) == "True").sum()),
    }


def paired(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The one rule for both sides: mean of the per-seed differences mlconf - FLAML (sign
    flipped for lower-is-better metrics, so > 0 means mlconf better), with a 95% t-interval
    over the seeds. Detected only when the interval excludes 0."""
    from scipy import stats

    sign = 1.0 if rows[0]["higher_is_better"] else -1.0
    diffs = [sign * (r["mlconf"]["test"] - r[label]["test"]) for r in rows]
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return {"diffs": diffs, "mean": mean, "ci95": None, "verdict": "one seed: no verdict"}
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5
    low, high = mean - half, mean + half
    if low > 0:
        verdict = "mlconf better"
    elif high < 0:
        verdict = "FLAML better"
    else:
        verdict = "no difference detected"
    return {"diffs": diffs, "mean": mean, "ci95": [low, high], "verdict": verdict}


def summary(report: dict[str, Any], labels: list[str]) -> tuple[str, list[str]]:
    """The per-dataset table (medians over seeds, trials per minute) and the verdict lines."""
    head = (
        "| budget s | dataset | metric | seeds | mlconf test (median) | contender | contender "
        "test (median) | mlconf - contender, mean [95% CI] | verdict | mlconf trials/min | "
        "contender trials/min | mlconf wall s (max) | contender wall s (max) |"
    )
    lines = [head, "|---:|---|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|"]
    verdicts = []
    for budget in sorted({r["budget_s"] for r in report["rows"]}):
        for dataset in DATASETS:
            rows = [
                r for r in report["rows"] if r["budget_s"] == budget and r["dataset"] == dataset
            ]
            if not rows:
                continue
            for label in labels:
                rule = paired(rows, label)
                ci = rule["ci95"]
                interval = "n/a" if ci is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"
                arrow = "↑" if rows[0]["higher_is_better"] else "↓"
                lines.append(
                    f"| {budget:g} | {dataset} | {rows[0]['metric']} {arrow} | {len(rows)} | "
                    f"{statistics.median(r['mlconf']['test'] for r in rows):.4f} | {label} | "
                    f"{statistics.median(r[label]['test'] for r in rows):.4f} | "
                    f"{rule['mean']:+.4f} {interval} | {rule['verdict']} | "
                    f"{statistics.median(per_minute(r, 'mlconf') for r in rows):.1f} | "
                    f"{statistics.median(per_minute(r, label) for r in rows):.1f} | "
                    f"{max(r['mlconf']['wall_s'] for r in rows):.1f} | "
                    f"{max(r[label]['wall_s'] for r in rows):.1f} |"
                )
                for r in rows:
                    r.setdefault("rule", {})[label] = rule
                verdicts.append(f"{budget:g} s {dataset} vs {label}: {rule['verdict']}")
    return "\n".join(lines), verdicts


def seed_table(report: dict[str, Any], labels: list[str]) -> str:
    """One line per run: both sides' test metric, trials, trials/min and whole wall time,
    mlconf's tuning + final fit against its tune.timeout, the load at each start."""
    lines = [
        "| budget s | table | metric | seed | mlconf test | FLAML test | mlconf trials "
        "(complete) | FLAML trials | mlconf trials/min | FLAML trials/min | mlconf scoring | "
        "mlconf tune.timeout s | mlconf tune + final fit s | mlconf reserve s | mlconf wall s "
        "| FLAML wall s | load (mlconf/FLAML start) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["rows"]:
        for label in labels:
            m, f = r["mlconf"], r[label]
            budget = m.get("tuning_budget") or {}
            arrow = "↑" if r["higher_is_better"] else "↓"
            lines.append(
                f"| {r['budget_s']:g} | {r['dataset']} | {r['metric']} {arrow} | {r['seed']} | "
                f"{m['test']:.4f} | {f['test']:.4f} | {m['trials']} ({m['completed']}) | "
                f"{f['trials']} | {per_minute(r, 'mlconf'):.1f} | {per_minute(r, label):.1f} | "
                f"{budget.get('scoring', '?')} | {budget.get('timeout_s') or 0:g} | "
                f"{m.get('tune_train_s') or 0:.1f} | {budget.get('reserve_s') or 0:.1f} | "
                f"{m['wall_s']:.1f} | {f['wall_s']:.1f} | "
                f"{_load(m)} / {_load(f)} |"
            )
    return "\n".join(lines)


def _load(side: dict[str, Any]) -> str:
    return "?" if side.get("load_1min") is None else f"{side['load_1min']:.1f}"


def per_minute(row: dict[str, Any], who: str) -> float:
    """Trials per minute of search: mlconf's over its tune stage, FLAML's over its fit."""
    side = row[who]
    seconds = side.get("tune_s") if who == "mlconf" else side.get("fit_s")
    return 60.0 * side["trials"] / seconds if seconds else float("nan")


def overruns(report: dict[str, Any], labels: list[str]) -> list[str]:
    """Every run whose whole child took longer than the budget."""
    out = []
    for r in report["rows"]:
        for who in ("mlconf", *labels):
            over = r[who]["wall_s"] / r["budget_s"] - 1
            if over > 0:
                out.append(
                    f"{who} overran on {r['dataset']} seed {r['seed']}: {r[who]['wall_s']:.1f} s "
                    f"for {r['budget_s']:g} s (+{over:.1%})"
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description="mlconf against FLAML at equal wall-clock budgets."
    )
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="10 s budget, seed 0 (smoke run)")
    parser.add_argument(
        "--flaml",
        nargs="+",
        choices=sorted(CONTENDERS),
        default=["FLAML default"],
        help="FLAML contenders: its default estimator list as installed ('auto'), and/or "
        "xgboost only",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="model threads, both tools")
    parser.add_argument(
        "--reserve",
        type=float,
        default=None,
        help="seconds of mlconf's budget kept outside tune.timeout: with --budget-from tune "
        "(default 15) start-up and data preparation, with --budget-from process (default 2) "
        "the interpreter's exit",
    )
    parser.add_argument(
        "--budget-from",
        default="tune",
        choices=["tune", "process"],
        help="mlconf's tune.timeout_from: 'tune' (tune.timeout from the tune stage; the reserve "
        "pays for start-up and data preparation) or 'process' (from the process's start, as "
        "FLAML's budget runs from its child's spawn; the reserve pays for the exit only)",
    )
    parser.add_argument(
        "--flaml-retrain",
        default="budget",
        choices=["budget", "true", "false"],
        help="FLAML's retrain_full: 'budget' (default here) retrains within time_budget, as "
        "mlconf's final fit is within tune.timeout; 'true' is FLAML's own default (retrain "
        "after the budget)",
    )
    parser.add_argument(
        "--predict-reserve",
        type=float,
        default=1.0,
        help="seconds of FLAML's budget kept for predicting the test rows",
    )
    parser.add_argument(
        "--validation-size",
        type=float,
        default=0.0,
        help="mlconf's split.validation_size; 0 gives mlconf's tuning and final fit the "
        "same rows as FLAML (the test rows do not depend on it)",
    )
    parser.add_argument(
        "--full", action="store_true", help="keep mlconf's explore, explain, report, register"
    )
    parser.add_argument(
        "--search", default="xgboost", help="mlconf's search space (conf/search): xgboost, auto"
    )
    parser.add_argument(
        "--flaml-python",
        type=Path,
        default=FLAML_VENV / "bin" / "python",
        help="the Python of FLAML's own venv (made by --make-flaml-venv); FLAML's child runs there",
    )
    parser.add_argument(
        "--make-flaml-venv",
        action="store_true",
        help=f'create {FLAML_VENV} with `pip install "flaml[automl]" pandas pyarrow` and stop',
    )
    parser.add_argument(
        "--mlconf-override", nargs="*", default=[], help="extra overrides for mlconf train"
    )
    # the child's own arguments
    parser.add_argument("--flaml-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--budget", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--started", help=argparse.SUPPRESS)
    parser.add_argument("--estimators", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--retrain", default="budget", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flaml_child:
        if args.estimators != "auto":
            args.estimators = [args.estimators]
        flaml_child(args)
        return

    if args.make_flaml_venv:
        make_flaml_venv()
        return
    if not args.flaml_python.exists():
        raise SystemExit(f"no FLAML venv at {args.flaml_python}: run with --make-flaml-venv")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(HERE))
    from overhead import machine, provenance, same_environment

    import mlconf

    if Path(mlconf.__file__).resolve().parent != REPO / "mlconf":
        raise SystemExit(f"mlconf imported from {mlconf.__file__}, not from {REPO}")
    same_environment("PASSIVE")  # what mlconf sets for itself; FLAML's child gets it too
    budgets, seeds = ([10.0], [0]) if args.quick else (args.budgets, args.seeds)
    from tables_issue18 import build

    build([d for d in args.datasets if d in TABLES])  # outside any timer
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    from mlconf.core.distribution import package_version

    report: dict[str, Any] = {
        "date": stamp,
        "provenance": provenance(),
        "machine": {
            **machine(),
            "optuna": package_version("optuna"),
            "flaml_python": str(args.flaml_python),
        },
        "args": {k: v for k, v in vars(args).items() if not k.startswith("flaml_child")},
        "rows": [],
        "complete": False,
    }
    path = RESULTS_DIR / f"vs_flaml-{stamp}.json"
    print(f"machine: {report['machine']}", flush=True)
    for budget in budgets:
        for dataset in args.datasets:
            for seed in seeds:
                report["rows"].append(bench_one(dataset, seed, budget, stamp, args))
                _save(path, report)
    text, verdicts = summary(report, args.flaml)
    text = seed_table(report, args.flaml) + "\n\n" + text
    report["complete"] = True
    report["provenance_end"] = provenance()
    report["verdicts"] = verdicts
    report["overruns"] = overruns(report, args.flaml)
    _save(path, report)
    (RESULTS_DIR / f"vs_flaml-{stamp}.md").write_text(text + "\n")
    print("\n" + text + "\n")
    print("\n".join(verdicts))
    print("\n".join(report["overruns"]) or "no run overran its budget")
    start, end = report["provenance"], report["provenance_end"]
    print(
        f"commit {start['commit']}{' (dirty)' if start['dirty'] else ''}, {start['utc']} to "
        f"{end['utc']} UTC, load average {start['load_average'][0]:.1f} -> "
        f"{end['load_average'][0]:.1f}"
    )
    print(f"results: {path.relative_to(REPO)}")


def make_flaml_venv() -> None:
    """FLAML as a user installs it, in a venv of its own (its extra pins xgboost<3)."""
    import subprocess
    import venv

    venv.create(FLAML_VENV, with_pip=True)
    pip = [str(FLAML_VENV / "bin" / "python"), "-m", "pip", "install"]
    subprocess.run([*pip, "flaml[automl]", "pandas", "pyarrow"], check=True)


def _save(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
