"""Multirun summary: every job ranked by its primary metric, failed jobs recorded last."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from helpers import NO_EXTRAS, ROOT, cli


def test_sweep_writes_a_ranked_summary_with_failures_last(tmp_path: Path) -> None:
    proc = cli(
        [
            "train",
            "-m",
            "model=logistic,dummy,ridge",
            "model.params.C=0.5",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # one job failed, the sweep went on
    assert "Traceback" not in proc.stderr
    (summary_path,) = tmp_path.glob("experiments/breast_cancer/multirun/*/sweep_summary.csv")
    summary = pd.read_csv(summary_path)
    assert list(summary["rank"]) == [1, 2, 3]
    assert list(summary["status"]) == ["succeeded", "failed", "failed"]
    assert summary.loc[0, "overrides"].startswith("model=logistic")
    assert summary.loc[0, "primary_metric"] == "roc_auc"
    assert "has no parameter 'C'" in summary.loc[1, "error"]
    assert "ranked" in proc.stdout
    comparison = (summary_path.parent / "sweep_report.html").read_text(encoding="utf-8")
    job = summary.loc[0, "job"]
    assert f'href="{job}/report.html"' in comparison  # each job's own report, relative
    assert comparison.count("href=") == 1  # the failed jobs have no report


def test_sweep_ranks_lower_is_better_metrics_ascending(tmp_path: Path) -> None:
    proc = cli(
        [
            "train",
            "-m",
            "experiment=diabetes",
            "model=ridge,dummy",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (summary_path,) = tmp_path.glob("experiments/diabetes/multirun/*/sweep_summary.csv")
    summary = pd.read_csv(summary_path)
    assert summary["value"].is_monotonic_increasing  # rmse: lower is better
    assert summary.loc[1, "overrides"].startswith("experiment=diabetes model=dummy")


def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path: Path) -> None:
    proc = cli(
        [
            "train",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "model=logistic,dummy,ridge",
            "model.params.C=0.5",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # failures in worker processes still count
    (summary_path,) = tmp_path.glob("experiments/breast_cancer/multirun/*/sweep_summary.csv")
    summary = pd.read_csv(summary_path)
    assert sorted(summary["status"]) == ["failed", "failed", "succeeded"]
    assert summary.loc[0, "status"] == "succeeded"


def test_optuna_sweeper_searches_group_choices_and_values(tmp_path: Path) -> None:
    import yaml

    proc = cli(
        [
            "train",
            "-m",
            "hydra/sweeper=mlconf_optuna",
            "hydra.sweeper.n_trials=3",
            "model=choice(logistic,knn)",
            "split.test_size=interval(0.15,0.3)",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (sweep_dir,) = tmp_path.glob("experiments/breast_cancer/multirun/*")
    trials = pd.read_csv(sweep_dir / "optuna_trials.csv")
    assert len(trials) == 3
    assert set(trials["param_model"]) <= {"logistic", "knn"}
    assert trials["param_split.test_size"].between(0.15, 0.3).all()
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["direction"] == "maximize"  # roc_auc, from problem/
    assert results["best_value"] == trials["value"].max()
    assert any(o.startswith("model=") for o in results["best_overrides"])
    assert len(pd.read_csv(sweep_dir / "sweep_summary.csv")) == 3


def test_optuna_sweeper_with_nothing_to_search_says_so(tmp_path: Path) -> None:
    proc = cli(["train", "-m", "hydra/sweeper=mlconf_optuna", "model=logistic"], cwd=tmp_path)
    assert proc.returncode != 0
    assert "nothing to search" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_glob_runs_every_preset_and_ranks_each_experiment_apart(tmp_path: Path) -> None:
    proc = cli(
        [
            "train",
            "-m",
            "experiment=glob(*)",
            "++model.params.n_estimators=10",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    presets = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
    summaries = sorted(tmp_path.glob("experiments/*/multirun/*/sweep_summary.csv"))
    assert [s.parents[2].name for s in summaries] == presets  # experiment_name = data.name
    for path in summaries:
        summary = pd.read_csv(path)
        assert list(summary["status"]) == ["succeeded"]
        assert summary.loc[0, "overrides"].startswith(f"experiment={path.parents[2].name}")


def test_sweep_chooses_on_validation_and_points_candidate_at_the_best_job(tmp_path: Path) -> None:
    from mlconf.store.model_registry import ModelRegistry

    # On breast_cancer, n_neighbors=3 is best on validation but worse on test than 30,
    # which also runs last: ranking on test, or the last registration, would pick 30.
    proc = cli(
        [
            "train",
            "-m",
            "model=knn",
            "model.params.n_neighbors=3,30",
            "metrics.bootstrap=0",
            *NO_EXTRAS,
            "deploy.register.force=true",  # recall misses its criterion at n_neighbors=3
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (summary_path,) = tmp_path.glob("experiments/breast_cancer/multirun/*/sweep_summary.csv")
    summary = pd.read_csv(summary_path)
    assert list(summary["ranked_on"]) == ["validation", "validation"]
    assert summary["value"].is_monotonic_decreasing  # roc_auc on validation, best first
    assert "n_neighbors=3 " in summary.loc[0, "overrides"] + " "
    assert summary.loc[0, "test_value"] < summary.loc[1, "test_value"], "test would choose 30"
    assert "ranked by the validation score" in proc.stdout
    assert "never used to choose" in proc.stdout

    registry = ModelRegistry(f"sqlite:///{tmp_path}/experiments/mlconf.db")
    best = registry.resolve("breast_cancer@candidate")
    assert best.ref == summary.loc[0, "registered"]
    assert best.run_dir == (tmp_path / summary.loc[0, "run_dir"]).resolve()
    last = registry.audit("breast_cancer")[-1]  # the move is in the audit trail
    assert (last["action"], last["alias"], last["to_version"]) == (
        "promote",
        "candidate",
        best.version,
    )
    assert f"breast_cancer@candidate -> version {best.version}" in proc.stdout

    report = (summary_path.parent / "sweep_report.html").read_text(encoding="utf-8")
    assert "validation score" in report and "ranked on" in report

    listing = cli(["models", "list"], cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "knn" in listing.stdout and "n_neighbors=30" in listing.stdout
    shown = cli(["models", "show", "breast_cancer", "candidate"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "knn (n_neighbors=3)" in shown.stdout


def _job(sweep: Path, name: str, metrics: dict[str, object]) -> None:
    import json

    (sweep / name).mkdir(parents=True)
    (sweep / name / "run.json").write_text(json.dumps({"status": "succeeded", "stages": {}}))
    (sweep / name / "metrics.json").write_text(json.dumps(metrics))


def test_without_validation_a_sweep_ranks_on_cv_then_says_it_fell_back_to_test(
    tmp_path: Path,
) -> None:
    from rich.console import Console

    from mlconf.cli.sweep import print_summary, summarize

    def scores(value: float) -> dict[str, object]:
        return {"model": {"roc_auc": {"value": value}}}

    _job(tmp_path, "0", {"primary_metric": "roc_auc", "test": scores(0.99)})
    cv = {"roc_auc": {"mean": 0.8, "std": 0.01, "folds": [0.8]}}
    _job(tmp_path, "1", {"primary_metric": "roc_auc", "test": scores(0.5), "cv": cv})
    both = {"validation": scores(0.7), "test": scores(0.6)}
    _job(tmp_path, "2", {"primary_metric": "roc_auc", **both, "cv": cv})
    frame = summarize(tmp_path)
    # held-out scores first (validation before the cv mean), the test-only job last
    assert list(frame["job"]) == ["2", "1", "0"]
    assert list(frame["ranked_on"]) == ["validation", "cv mean", "test"]
    assert list(frame["value"]) == [0.7, 0.8, 0.99]
    assert list(frame["test_value"]) == [0.6, 0.5, 0.99]
    console = Console(record=True, width=200)
    print_summary(frame, tmp_path, console)
    text = console.export_text()
    assert "ranked by the validation / cv mean / test score" in text
    assert "ranked on the test part: job(s) 0: no validation part" in text


def test_candidate_goes_to_the_best_job_that_registered_a_version(tmp_path: Path) -> None:
    import json

    from mlconf.cli.sweep_candidate import best_registered

    url = f"sqlite:///{tmp_path}/r.db"
    for job, registered in (("0", None), ("1", {"ref": "m:2", "alias": "candidate"})):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / ".hydra" / "config.yaml").write_text(f"deploy:\n  registry_url: {url}\n")
        record = {"status": "succeeded", "counts": {"registered": registered}}
        (tmp_path / job / "run.json").write_text(json.dumps(record))
    frame = pd.DataFrame(
        [
            {"rank": r, "job": j, "status": "succeeded", "run_dir": str(tmp_path / j)}
            for r, j in ((1, "0"), (2, "1"))
        ]
    )
    # job 0 ranks first but failed its criteria (not registered): job 1 gets the alias
    best = best_registered(frame)
    assert list(best) == [(url, "m", "candidate")]
    chosen = best[(url, "m", "candidate")]
    assert (chosen["job"], chosen["version"]) == ("1", 2)
