"""The `mlconf` command end to end, in a subprocess: help, train on every preset, sweeps,
plugins, init, schema inference and overrides."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import CARS, LEAN, LIGHT, TRACEBACK, output_of, quiet_console

RunCli = Callable[..., Any]


def run_folders(root: Path, experiment: str) -> list[Path]:
    return sorted((root / "experiments" / experiment / "runs").glob("*"))


def assert_clean(proc: Any) -> None:
    assert TRACEBACK not in output_of(proc), output_of(proc)


# --- help and unknown commands ----------------------------------------------------------------


def test_help(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["--help"])
    assert proc.returncode == 0
    assert "mlconf <command>" in proc.stdout
    for command in ("train", "plugins", "init", "schema infer"):
        assert command in proc.stdout
    assert list(workdir.iterdir()) == []


def test_version(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["--version"])
    assert proc.returncode == 0
    assert re.fullmatch(r"mlconf \d+\.\d+\.\d+\s*", proc.stdout)


def test_unknown_command_exits_2_with_a_guess(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["trian"])
    assert proc.returncode == 2
    assert "unknown command 'trian'. Did you mean 'train'?" in proc.stderr
    assert_clean(proc)


def test_no_command_prints_usage_and_exits_2(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli([])
    assert proc.returncode == 2
    assert "mlconf <command>" in proc.stdout


# --- train ------------------------------------------------------------------------------------


PRESETS = {
    "breast_cancer": "roc_auc (primary)",
    "wine": "f1 (primary)",
    "diabetes": "rmse (primary)",
    "cars": "balanced_accuracy (primary)",
}


def assert_summary(text: str, experiment: str) -> None:
    """The summary `mlconf train` prints after a run (mlconf.cli.summary)."""
    assert "test metrics (95% bootstrap intervals)" in text
    assert PRESETS[experiment] in text
    assert "dummy baseline" in text
    assert "success criterion" in text


@pytest.mark.slow
@pytest.mark.parametrize("experiment", list(PRESETS))
def test_train_every_preset(trained: Callable[..., Any], experiment: str) -> None:
    # In-process: the same composition and run as `mlconf train experiment=...`, without an
    # interpreter start per preset (and shared with test_runner.py). The command line itself is
    # checked on one run below (test_overrides_are_saved_in_config_yaml); test_sweep.py runs
    # every preset through it.
    from mlconf.cli.summary import print_summary

    result = trained([f"experiment={experiment}", *LEAN])  # no plots, no explanation
    console = quiet_console()
    print_summary(result, console)
    assert_summary(console.export_text(), experiment)
    folder = result.run_dir
    assert json.loads((folder / "run.json").read_text())["status"] == "succeeded"
    for name in ("metrics.json", "config.yaml", "data/split.csv", "model/pipeline.skops"):
        assert (folder / name).is_file(), name


def test_overrides_are_saved_in_config_yaml(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["train", "model.params.max_depth=4", "split.test_size=0.3", *LEAN])
    assert proc.returncode == 0, output_of(proc)
    assert_clean(proc)
    assert_summary(proc.stdout, "breast_cancer")
    (folder,) = run_folders(workdir, "breast_cancer")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-[0-9a-f]{6}", folder.name)
    assert f"run saved to experiments/breast_cancer/runs/{folder.name}" in proc.stdout
    assert json.loads((folder / "run.json").read_text())["status"] == "succeeded"
    for name in ("metrics.json", "data/split.csv", "model/pipeline.skops"):
        assert (folder / name).is_file(), name
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["model"]["params"]["max_depth"] == 4
    assert config["model"]["params"]["n_estimators"] == 20
    assert config["split"]["test_size"] == pytest.approx(0.3)
    assert config["metrics"]["bootstrap"] == 20
    overrides = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
    assert "++model.params.max_depth=4" in overrides  # free-form params are passed as ++
    split = json.loads((folder / "run.json").read_text())["counts"]["split"]
    assert split["test"] == round(569 * 0.3)
    # run.log holds the stages and the outcome with times; library chatter stays out
    log = (folder / "run.log").read_text()
    assert "[INFO] train done in" in log and "[INFO] register done in" in log
    assert re.search(r"\[INFO\] succeeded: .*; test roc_auc 0\.\d+ \(0\.\d+ \.\. ", log)
    assert "setup plugin" not in proc.stdout + log  # alembic's INFO lines


def test_cfg_job_prints_the_config_and_runs_nothing(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["train", "--cfg", "job", "experiment=cars"])
    assert proc.returncode == 0, output_of(proc)
    config = yaml.safe_load(proc.stdout)
    assert config["problem"]["target"] == "Origin"
    assert config["model"]["name"] == "xgboost"
    assert not (workdir / "experiments").exists()


@pytest.mark.slow
def test_multirun_writes_one_folder_per_job(run_cli: RunCli, workdir: Path) -> None:
    # two jobs (two cheap models) show one folder per job as well as three would
    proc = run_cli(["train", "-m", "model=dummy,logistic", *LIGHT])
    assert proc.returncode == 0, output_of(proc)
    assert_clean(proc)
    sweeps = sorted((workdir / "experiments" / "breast_cancer" / "multirun").glob("*"))
    assert len(sweeps) == 1
    jobs = sorted(p for p in sweeps[0].iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    models = []
    for job in jobs:
        record = json.loads((job / "run.json").read_text())
        assert record["status"] == "succeeded"
        models.append(yaml.safe_load((job / "config.yaml").read_text())["model"]["name"])
        assert (job / "model" / "manifest.json").is_file()
    assert models == ["dummy", "logistic"]
    assert not (workdir / "experiments" / "breast_cancer" / "runs").exists()


@pytest.mark.slow
def test_multirun_with_a_failing_job_goes_on_and_exits_1(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["train", "-m", "model=dummy", "problem.target=target,nope", *LIGHT])
    assert proc.returncode == 1, output_of(proc)
    assert_clean(proc)
    assert "target column 'nope' is not in the data" in proc.stderr
    assert "1 job(s) failed" in proc.stderr
    (sweep,) = (workdir / "experiments" / "breast_cancer" / "multirun").glob("*")
    statuses = [json.loads((sweep / n / "run.json").read_text())["status"] for n in ("0", "1")]
    assert statuses == ["succeeded", "failed"]


# --- plugins ----------------------------------------------------------------------------------


def test_plugins_lists_kinds_names_and_origins(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["plugins"])
    assert proc.returncode == 0, output_of(proc)
    for kind, name in [("source", "csv"), ("model", "xgboost"), ("splitter", "group")]:
        assert re.search(rf"│ {kind}\s+│ {name}\s+│ builtin\s+│", proc.stdout), (kind, name)
    proc = run_cli(["plugins", "-k", "model"])
    assert proc.returncode == 0
    assert "xgboost" in proc.stdout
    assert "│ source" not in proc.stdout
    assert "│ splitter" not in proc.stdout


def test_plugins_unknown_kind(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["plugins", "-k", "modle"])
    assert proc.returncode == 2
    assert "unknown kind 'modle'. Did you mean 'model'?" in proc.stderr
    assert_clean(proc)


MY_MOD = '''\
"""A user's own components."""

from mlconf import register


@register("model", "my_model")
def my_model(task, **params):
    """Logistic regression with my favourite defaults."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 500, **params})
'''


def test_user_plugin_module_in_cwd(run_cli: RunCli, workdir: Path) -> None:
    (workdir / "my_mod.py").write_text(MY_MOD)
    proc = run_cli(["plugins", "-p", "my_mod", "-k", "model"])
    assert proc.returncode == 0, output_of(proc)
    assert re.search(r"│ model\s+│ my_model\s+│ module my_mod\s+│ Logistic regression", proc.stdout)

    proc = run_cli(["train", "plugins=[my_mod]", "model=dummy", "model.name=my_model", *LIGHT])
    assert proc.returncode == 0, output_of(proc)
    assert_clean(proc)
    (folder,) = run_folders(workdir, "breast_cancer")
    manifest = json.loads((folder / "model" / "manifest.json").read_text())
    assert manifest["model"]["name"] == "my_model"
    assert manifest["plugins"] == ["my_mod"]


def test_unknown_plugin_module_is_a_clear_error(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["train", "plugins=[not_my_mod]", "model=dummy"])
    assert proc.returncode == 2
    assert "plugin module 'not_my_mod' cannot be imported" in proc.stderr
    assert_clean(proc)


# --- init -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_init_then_train_the_example(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["init", "proj"])
    assert proc.returncode == 0, output_of(proc)
    project = workdir / "proj"
    for name in (
        "conf/data/example.yaml",
        "conf/schema/example.yaml",
        "conf/problem/example.yaml",
        "conf/experiment/example.yaml",
        "my_components.py",
        "data/example.csv",
    ):
        assert (project / name).is_file(), name
    assert "mlconf train experiment=example" in proc.stdout

    proc = run_cli(["train", "experiment=example", *LEAN], cwd=project)
    assert proc.returncode == 0, output_of(proc)
    assert_clean(proc)
    (folder,) = run_folders(project, "example")
    assert json.loads((folder / "run.json").read_text())["status"] == "succeeded"
    assert "balanced_accuracy (primary)" in proc.stdout


def test_init_refuses_a_non_empty_folder(run_cli: RunCli, workdir: Path) -> None:
    (workdir / "proj").mkdir()
    (workdir / "proj" / "notes.txt").write_text("mine")
    proc = run_cli(["init", "proj"])
    assert proc.returncode == 2
    assert "folder 'proj' is not empty" in proc.stderr
    assert "--force" in proc.stderr
    assert_clean(proc)
    assert [p.name for p in (workdir / "proj").iterdir()] == ["notes.txt"]


# --- schema infer -----------------------------------------------------------------------------


def test_schema_infer_writes_a_schema_that_validates(
    run_cli: RunCli, workdir: Path, cars_csv: Path
) -> None:
    (workdir / "conf" / "schema").mkdir(parents=True)
    out = workdir / "conf" / "schema" / "inferred.yaml"
    proc = run_cli(["schema", "infer", "cars.csv", "-o", str(out)])
    assert proc.returncode == 0, output_of(proc)
    assert "wrote" in proc.stderr
    schema = yaml.safe_load(out.read_text())
    assert set(schema["columns"]) == set(CARS.read_text().splitlines()[0].split(","))
    assert schema["columns"]["Origin"]["allowed"] == ["Europe", "Japan", "USA"]

    proc = run_cli(
        [
            "train",
            "experiment=cars",
            "schema=inferred",
            "schema.on_error=fail",
            "data.sources.main.kind=csv",
            "data.sources.main.path=cars.csv",
            "data.sources.main.dataset=null",
            "stages=[load,validate]",
        ]
    )
    assert proc.returncode == 0, output_of(proc)
    (folder,) = run_folders(workdir, "cars")
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["counts"]["schema_failures"] == 0
    assert not (folder / "data" / "quarantine.csv").exists()


def test_schema_infer_to_stdout(run_cli: RunCli, workdir: Path, cars_csv: Path) -> None:
    proc = run_cli(["schema", "infer", "cars.csv"])
    assert proc.returncode == 0
    assert yaml.safe_load(proc.stdout)["columns"]["Year"]["dtype"] == "int"


def test_schema_infer_missing_file(run_cli: RunCli, workdir: Path) -> None:
    proc = run_cli(["schema", "infer", "nope.csv"])
    assert proc.returncode == 2
    assert "nope.csv' does not exist" in proc.stderr
    assert_clean(proc)
