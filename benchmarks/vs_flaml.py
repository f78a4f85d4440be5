"""mlconf's tuned xgboost against FLAML at an equal wall-clock budget, on real data.

For each dataset and budget, run (one after the other, never both at once, each in its
own child process):

1. `mlconf train experiment=<dataset> search=xgboost tune.n_trials=0
   tune.timeout=<budget - reserve>`: a timeout-only Optuna study, then the final fit,
   evaluation and save. The whole command counts against the budget, so the tuning
   gets the budget minus a reserve for start-up, the final fit, evaluation and save.
2. This script with `--flaml-child`: rebuilds mlconf's own train/test parts (mlconf's
   load, validate, prepare and split stages, checked row by row against the mlconf run's
   `data/split.csv`), gives FLAML the training rows (train + validation parts), runs
   `AutoML.fit(time_budget=<budget - time spent since the child was spawned - 1 s>)`
   and writes its test predictions.

Both models are then scored here, on the same test rows, with the same scikit-learn
metric: the dataset's primary metric (`conf/problem/<dataset>.yaml`). FLAML optimises
that same metric. xgboost gets `--n-jobs` threads (default 1) in both.

    python benchmarks/vs_flaml.py --quick                       # 10 s budgets, smoke run
    python benchmarks/vs_flaml.py --budgets 60 --datasets wine cars
    python benchmarks/vs_flaml.py --budgets 60 300 --flaml-default

Method, machine and results: benchmarks/README.md ("mlconf vs FLAML"). Not a test.
"""

from __future__ import annotations

import time

_SPAWNED = time.time()  # first thing: the child's budget counts from its own start-up

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
DATASETS = ("breast_cancer", "wine", "diabetes", "cars")
# FLAML's name for mlconf's primary metric (lower-is-better losses are FLAML's business).
FLAML_METRIC = {"roc_auc": "roc_auc", "rmse": "rmse", "accuracy": "accuracy"}
HIGHER_IS_BETTER = {"roc_auc": True, "f1": True, "balanced_accuracy": True, "rmse": False}


# ---------------------------------------------------------------- shared data + scoring


def load_parts(run_dir: Path, scratch: Path) -> tuple[Any, dict[str, Any], list[str]]:
    """mlconf's config of `run_dir` and its train/validation/test parts, rebuilt by
    mlconf's own load, validate, prepare and split stages (in `scratch`), and checked
    against the run's split manifest, so both contenders see exactly the same rows."""
    import pandas as pd
    from omegaconf import OmegaConf
    from rich.console import Console

    from mlconf.runner import typed
    from mlconf.stages import STAGES
    from mlconf.stages.context import RunContext
    from mlconf.stages.prepare import feature_columns
    from mlconf.store.runs import RunRecord

    conf = typed(OmegaConf.load(run_dir / "config.yaml"))
    scratch.mkdir(parents=True, exist_ok=True)
    record = RunRecord(run_dir=scratch, experiment=conf.experiment_name, seed=conf.seed)
    ctx = RunContext(conf=conf, run_dir=scratch, record=record, console=Console(quiet=True))
    for stage in ("load", "validate", "prepare", "split"):
        STAGES[stage](ctx)
    parts = ctx["parts"]
    manifest = pd.read_csv(run_dir / "data" / "split.csv")
    for name, frame in parts.items():
        expected = sorted(manifest.loc[manifest["part"] == name, "row"].tolist())
        if sorted(frame.index.tolist()) != expected:
            raise SystemExit(f"{name} part differs from {run_dir}/data/split.csv")
    return conf, parts, feature_columns(ctx, parts["train"])


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

    from mlconf.stages.train import class_order, encode

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

    run_dir, out = Path(args.run_dir), Path(args.out)
    conf, parts, columns = load_parts(run_dir, out.parent / "flaml-scratch")
    y_fit, _, classes = targets(conf, parts)
    x_fit = pd.concat([parts["train"], parts["validation"]])[columns]
    x_test = parts["test"][columns]
    problem = conf.problem
    metric: Any = FLAML_METRIC.get(problem.primary_metric)
    if problem.primary_metric == "f1":
        metric = "f1" if len(classes) == 2 else "macro_f1"
    elif problem.primary_metric == "balanced_accuracy":
        metric = _balanced_accuracy_loss
    elif metric is None:
        raise SystemExit(f"no FLAML metric for '{problem.primary_metric}'")

    from flaml import AutoML

    started = float(args.started)
    budget = float(args.budget) - (time.time() - started) - args.predict_reserve
    automl = AutoML()
    settings: dict[str, Any] = {
        "task": problem.task,
        "metric": metric,
        "time_budget": budget,
        "n_jobs": args.n_jobs,
        "seed": conf.seed,
        "verbose": 0,
    }
    estimators = list(args.estimators)
    if estimators == ["default"]:
        # FLAML's own default list ("auto"), less what needs the extras this benchmark
        # does not install: lgbm needs lightgbm (FLAML fails on it when absent), catboost.
        estimators = ["rf", "xgboost", "extra_tree", "xgb_limitdepth", "sgd"]
        if problem.task == "classification":
            estimators.append("lrl1")
    settings["estimator_list"] = estimators
    fit_start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(x_fit, y_fit, **settings)
        fit_end = time.time()
        proba = automl.predict_proba(x_test) if problem.task == "classification" else None
        y_pred = automl.predict(x_test)
    result = {
        "time_budget_s": budget,
        "setup_s": fit_start - started,
        "fit_s": fit_end - fit_start,
        # config_history holds only the improvements; _iter_per_learner counts every trial
        "trials": int(sum(getattr(automl, "_iter_per_learner", {}).values())),
        "trials_per_learner": dict(getattr(automl, "_iter_per_learner", {})),
        "improvements": len(automl.config_history),
        "best_estimator": automl.best_estimator,
        "best_config": {k: _plain(v) for k, v in (automl.best_config or {}).items()},
        "best_loss": _plain(automl.best_loss),
        "eval_method": getattr(automl._state, "eval_method", None),
        "fit_rows": len(x_fit),
        "test_index": [int(i) for i in x_test.index],
        "y_pred": np.asarray(y_pred).tolist(),
        "proba": None if proba is None else np.asarray(proba).tolist(),
    }
    out.write_text(json.dumps(result) + "\n")


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


def mlconf_command(
    dataset: str, budget: float, run_dir: Path, args: argparse.Namespace
) -> list[str]:
    from overhead import MLCONF

    timeout = max(1.0, budget - args.reserve)
    return [
        str(MLCONF),
        "train",
        f"experiment={dataset}",
        "search=xgboost",
        "tune.n_trials=0",
        f"tune.timeout={timeout:g}",
        f"split.validation_size={args.validation_size:g}",
        f"model.params.n_jobs={args.n_jobs}",
        f"hydra.run.dir={run_dir}",
        *args.mlconf_override,
    ]


def flaml_command(
    run_dir: Path, budget: float, out: Path, estimators: list[str], args: argparse.Namespace
) -> list[str]:
    from overhead import PYTHON

    return [
        str(PYTHON),
        str(Path(__file__).resolve()),
        "--flaml-child",
        "--run-dir",
        str(run_dir),
        "--budget",
        f"{budget:g}",
        "--out",
        str(out),
        "--n-jobs",
        str(args.n_jobs),
        "--predict-reserve",
        f"{args.predict_reserve:g}",
        "--estimators",
        *estimators,
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


def bench_one(
    dataset: str,
    budget: float,
    contenders: list[tuple[str, list[str]]],
    stamp: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    import numpy as np

    folder = RESULTS_DIR / stamp / f"{dataset}-{budget:g}s"
    run_dir = folder / "mlconf-run"
    row: dict[str, Any] = {"dataset": dataset, "budget_s": budget}

    print(f"[{dataset} {budget:g} s] mlconf ...", flush=True)
    command = mlconf_command(dataset, budget, run_dir, args)
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
            "others_busy": mlconf.others_busy,
            "tune_s": record["stages"].get("tune"),
            "stages_s": record["stages"],
            "trials": trials["trials"],
            "completed": trials["completed"],
            "cv_best": trials["best"],
            "git": record.get("git"),
            "command": command[1:],
        },
    )
    print(
        f"  mlconf test {metric} {mlconf_score:.4f}, wall {mlconf.wall_s:.1f} s, "
        f"tune {row['mlconf']['tune_s']:.1f} s, {trials['trials']} trials",
        flush=True,
    )

    for label, estimators in contenders:
        out = folder / f"{label}.json"
        print(f"[{dataset} {budget:g} s] {label} ...", flush=True)
        res = timed_child(
            flaml_command(run_dir, budget, out, estimators, args), folder / f"{label}.log"
        )
        if res.returncode != 0:
            raise SystemExit(f"{label} failed; see {folder / f'{label}.log'}")
        child = json.loads(out.read_text())
        assert child["test_index"] == [int(i) for i in parts["test"].index]
        proba = None if child["proba"] is None else np.asarray(child["proba"])
        value = score(
            metric, y_test, np.asarray(child["y_pred"]), proba, classes, conf.problem.positive_class
        )
        row[label] = {
            "test": value,
            "wall_s": res.wall_s,
            "cpu_s": res.cpu_s,
            "others_busy": res.others_busy,
            "fit_s": child["fit_s"],
            "setup_s": child["setup_s"],
            "time_budget_s": child["time_budget_s"],
            "trials": child["trials"],
            "trials_per_learner": child.get("trials_per_learner"),
            "best_estimator": child["best_estimator"],
            "best_config": child["best_config"],
            "eval_method": child["eval_method"],
        }
        print(
            f"  {label} test {metric} {value:.4f}, wall {res.wall_s:.1f} s, "
            f"fit {child['fit_s']:.1f} s, {child['trials']} trials",
            flush=True,
        )
    return row


def _mlconf_trials(run_dir: Path) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_csv(run_dir / "trials.csv")
    done = frame[frame["state"] == "COMPLETE"]
    best = json.loads((run_dir / "best_params.json").read_text())
    metric = [k for k in best if k not in ("model", "params")]
    return {
        "trials": len(frame),
        "completed": len(done),
        "best": best[metric[0]] if metric else None,
        "best_params": best["params"],
    }


def check(report_path: Path, label: str = "FLAML xgboost") -> list[dict[str, Any]]:
    """After a run, two ways to tell a real difference from test-sample noise.

    1. A paired bootstrap of the test rows (2000 resamples): the 95% interval of
       mlconf - FLAML on the test metric.
    2. Both tools' chosen xgboost configs, re-scored by 6 x 5-fold CV on the training rows
       only (other folds than either tool used; the test rows are not touched): mlconf's
       fitted pipeline cloned (its feature steps included), FLAML's best config as FLAML
       builds it (lossguide, max_depth 0, hist; string columns as category codes).
    """
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    from mlconf.store.artifacts import load_model

    report = json.loads(report_path.read_text())
    stamp = report["date"]
    out = []
    for row in report["rows"]:
        if label not in row:
            continue
        folder = RESULTS_DIR / stamp / f"{row['dataset']}-{row['budget_s']:g}s"
        run_dir = folder / "mlconf-run"
        conf, parts, columns = load_parts(run_dir, folder / "check-scratch")
        metric, task = conf.problem.primary_metric, conf.problem.task
        y_fit, y_test, classes = targets(conf, parts)
        model = load_model(run_dir / "model")
        x_test = parts["test"][columns]
        sign = 1.0 if row["higher_is_better"] else -1.0

        m_pred, m_proba = _preds(task, model.pipeline, x_test[model.input_columns])
        child = json.loads((folder / f"{label}.json").read_text())
        f_pred = np.asarray(child["y_pred"])
        f_proba = None if child["proba"] is None else np.asarray(child["proba"])
        rng = np.random.default_rng(0)
        diffs = []
        n = len(y_test)
        for _ in range(2000):
            i = rng.integers(0, n, n)
            if task == "classification" and len(set(y_test[i])) < len(classes):
                continue
            a = score(
                metric, y_test[i], m_pred[i], None if m_proba is None else m_proba[i], classes, None
            )
            b = score(
                metric, y_test[i], f_pred[i], None if f_proba is None else f_proba[i], classes, None
            )
            diffs.append(sign * (a - b))
        diffs_a = np.asarray(diffs)

        x_fit = pd.concat([parts["train"], parts["validation"]])[columns]
        x_codes = x_fit.copy()
        for col in x_codes.columns:
            if not pd.api.types.is_numeric_dtype(x_codes[col]):
                x_codes[col] = x_codes[col].astype("category").cat.codes
        params = {
            "max_depth": 0,
            "grow_policy": "lossguide",
            "tree_method": "hist",
            "n_jobs": 1,
            **child["best_config"],
        }
        flaml_model = (xgb.XGBClassifier if task == "classification" else xgb.XGBRegressor)(
            **params
        )
        splitter = (RepeatedStratifiedKFold if task == "classification" else RepeatedKFold)(
            n_splits=5, n_repeats=6, random_state=7
        )
        cv = []
        for fit_idx, val_idx in splitter.split(x_fit, y_fit):
            values = []
            for est, x in ((clone(model.pipeline), x_fit), (clone(flaml_model), x_codes)):
                est.fit(x.iloc[fit_idx], y_fit[fit_idx])
                p, pr = _preds(task, est, x.iloc[val_idx])
                values.append(score(metric, y_fit[val_idx], p, pr, classes, None))
            cv.append(values)
        cv_a = np.asarray(cv)
        paired = sign * (cv_a[:, 0] - cv_a[:, 1])
        result = {
            "dataset": row["dataset"],
            "budget_s": row["budget_s"],
            "metric": metric,
            "test_diff": sign * (row["mlconf"]["test"] - row[label]["test"]),
            "test_diff_ci95": [
                float(np.percentile(diffs_a, 2.5)),
                float(np.percentile(diffs_a, 97.5)),
            ],
            "cv_mlconf": float(cv_a[:, 0].mean()),
            "cv_flaml": float(cv_a[:, 1].mean()),
            "cv_diff": float(paired.mean()),
            "cv_diff_se": float(paired.std(ddof=1) / np.sqrt(len(paired))),
            "cv_mlconf_better_folds": int((paired > 0).sum()),
            "cv_folds": len(paired),
        }
        out.append(result)
        print(
            f"{row['dataset']} {row['budget_s']:g} s {metric}: test diff (mlconf better > 0) "
            f"{result['test_diff']:+.4f}, 95% CI [{result['test_diff_ci95'][0]:+.4f}, "
            f"{result['test_diff_ci95'][1]:+.4f}]; 6x5 CV on training rows: mlconf "
            f"{result['cv_mlconf']:.4f}, FLAML {result['cv_flaml']:.4f}, diff "
            f"{result['cv_diff']:+.4f} +- {result['cv_diff_se']:.4f} (mlconf better on "
            f"{result['cv_mlconf_better_folds']}/{result['cv_folds']} folds)",
            flush=True,
        )
    report_out = report_path.with_name(report_path.stem + "-check.json")
    _save(report_out, {"source": report_path.name, "label": label, "rows": out})
    return out


def _preds(task: str, estimator: Any, x: Any) -> tuple[Any, Any]:
    if task == "classification":
        return estimator.predict(x), estimator.predict_proba(x)
    return estimator.predict(x), None


def verdict(row: dict[str, Any], label: str, tolerance: float) -> str:
    a, b = row["mlconf"]["test"], row[label]["test"]
    if abs(a - b) <= tolerance:
        return "tie"
    better = a > b if row["higher_is_better"] else a < b
    return "mlconf" if better else "FLAML"


def table(rows: list[dict[str, Any]], labels: list[str], tolerance: float) -> str:
    head = (
        "| dataset | budget s | metric | mlconf test | mlconf wall s (tune s) | mlconf trials |"
        " contender | contender test | contender wall s (fit s) | contender trials | winner |"
    )
    lines = [head, "|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for row in rows:
        m = row["mlconf"]
        for label in labels:
            if label not in row:
                continue
            c = row[label]
            arrow = "↑" if row["higher_is_better"] else "↓"
            lines.append(
                f"| {row['dataset']} | {row['budget_s']:g} | {row['metric']} {arrow} |"
                f" {m['test']:.4f} | {m['wall_s']:.1f} ({m['tune_s']:.1f}) | {m['trials']} |"
                f" {label} | {c['test']:.4f} | {c['wall_s']:.1f} ({c['fit_s']:.1f}) |"
                f" {c['trials']} | {verdict(row, label, tolerance)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="mlconf against FLAML at equal wall-clock budgets."
    )
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--quick", action="store_true", help="10 s budgets (smoke run)")
    parser.add_argument(
        "--flaml-default",
        action="store_true",
        help="also run FLAML with its default estimator list (without lgbm and catboost, "
        "whose packages are not installed), at budgets <= 60 s",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="xgboost threads, both tools")
    parser.add_argument(
        "--reserve",
        type=float,
        default=8.0,
        help="seconds of mlconf's budget kept for start-up, final fit, evaluate and save; "
        "tune.timeout = budget - reserve",
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
        "--mlconf-override", nargs="*", default=[], help="extra overrides for mlconf train"
    )
    parser.add_argument(
        "--tolerance", type=float, default=1e-9, help="a difference up to this is a tie"
    )
    # the child's own arguments
    parser.add_argument("--flaml-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    parser.add_argument("--budget", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--started", help=argparse.SUPPRESS)
    parser.add_argument("--estimators", nargs="+", default=["xgboost"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--check",
        type=Path,
        help="instead of running: re-examine a results JSON (paired bootstrap of the test "
        "difference; both chosen configs re-scored by repeated CV on the training rows)",
    )
    args = parser.parse_args()
    if args.flaml_child:
        flaml_child(args)
        return
    if args.check:
        sys.path.insert(0, str(REPO))
        check(args.check)
        return

    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    sys.path.insert(0, str(REPO))
    from overhead import machine

    import mlconf

    if Path(mlconf.__file__).resolve().parent != REPO / "mlconf":
        raise SystemExit(f"mlconf imported from {mlconf.__file__}, not from {REPO}")
    budgets = [10.0] if args.quick else args.budgets
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    from importlib import metadata

    report: dict[str, Any] = {
        "date": stamp,
        "machine": {
            **machine(),
            "optuna": metadata.version("optuna"),
            "flaml": metadata.version("flaml"),
        },
        "args": {k: v for k, v in vars(args).items() if not k.startswith(("flaml_child",))},
        "rows": [],
        "complete": False,
    }
    path = RESULTS_DIR / f"vs_flaml-{stamp}.json"
    print(f"machine: {report['machine']}", flush=True)
    labels = ["FLAML xgboost", "FLAML default"]
    for budget in budgets:
        for dataset in args.datasets:
            contenders = [("FLAML xgboost", ["xgboost"])]
            if args.flaml_default and budget <= 60:
                contenders.append(("FLAML default", ["default"]))
            row = bench_one(dataset, budget, contenders, stamp, args)
            report["rows"].append(row)
            _save(path, report)
    report["complete"] = True
    _save(path, report)
    text = table(report["rows"], labels, args.tolerance)
    (RESULTS_DIR / f"vs_flaml-{stamp}.md").write_text(text + "\n")
    print("\n" + text + "\n")
    for budget in budgets:
        rows = [r for r in report["rows"] if r["budget_s"] == budget]
        lost = [
            r["dataset"] for r in rows if verdict(r, "FLAML xgboost", args.tolerance) == "FLAML"
        ]
        print(
            f"{budget:g} s: mlconf equal or better than FLAML xgboost on "
            f"{len(rows) - len(lost)}/{len(rows)}"
            + (f" (loses on {', '.join(lost)})" if lost else "")
        )
    print(f"results: {path.relative_to(REPO)}")


def _save(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
