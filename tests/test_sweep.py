"""Multirun summary: every job ranked by its primary metric, failed jobs recorded last."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from helpers import ROOT, cli


def test_sweep_writes_a_ranked_summary_with_failures_last(tmp_path: Path) -> None:
    proc = cli(
        ["train", "-m", "model=logistic,dummy,ridge", "model.params.C=0.5", "metrics.bootstrap=0"],
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
            "explain.enabled=false",
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
