"""`mlconf models ...` in a subprocess: list, show, promote, rollback, archive, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FAST, TRACEBACK, cli, output_of

import mlconf
from mlconf.deploy.export import requirements

STAGES = "stages=[load,validate,prepare,split,train,evaluate,save,register]"


def ok(args: list[str], cwd: Path) -> str:
    proc = cli(args, cwd=cwd)
    assert proc.returncode == 0, output_of(proc)
    return proc.stdout


def fails(args: list[str], cwd: Path, *needles: str) -> str:
    proc = cli(args, cwd=cwd)
    text = output_of(proc)
    assert proc.returncode != 0, text
    assert TRACEBACK not in text
    for needle in needles:
        assert needle in text, text
    return text


def test_missing_registry_and_bad_arguments(tmp_path: Path) -> None:
    fails(["models", "list"], tmp_path, "no registry at sqlite:///experiments/mlconf.db", "train")
    assert not (tmp_path / "experiments").exists()
    url = f"--registry-url=sqlite:///{tmp_path}/none.db"
    fails(["models", "show", "churn", "production", url], tmp_path, "no registry at")
    fails(["models", "promote", "churn", "one", "production"], tmp_path, "invalid int value")
    fails(["models", "list", "--registry-url=nonsense"], tmp_path, "not a database URL")


def test_the_registry_url_comes_from_the_composed_config(tmp_path: Path) -> None:
    # the project's conf/, then an override after the action, as for train
    (tmp_path / "conf" / "deploy").mkdir(parents=True)
    (tmp_path / "conf" / "deploy" / "default.yaml").write_text(
        "registry_url: sqlite:///project.db\n", encoding="utf-8"
    )
    fails(["models", "list"], tmp_path, "no registry at sqlite:///project.db")
    fails(
        ["models", "list", "deploy.registry_url=sqlite:///other.db"],
        tmp_path,
        "no registry at sqlite:///other.db",
    )


@pytest.mark.slow
def test_train_registers_in_the_working_folder_then_manage_and_export(tmp_path: Path) -> None:
    for _ in range(2):
        ok(["train", *FAST, STAGES], tmp_path)
    # The default registry is experiments/mlconf.db under the folder `mlconf train` ran in.
    assert (tmp_path / "experiments" / "mlconf.db").is_file()
    listing = ok(["models", "list"], tmp_path)
    assert "breast_cancer" in listing and "candidate" in listing and "roc_auc" in listing

    ok(["models", "promote", "breast_cancer", "1", "production", "--actor", "alice"], tmp_path)
    ok(["models", "promote", "breast_cancer", "2", "production"], tmp_path)
    out = ok(["models", "rollback", "breast_cancer", "production"], tmp_path)
    assert "-> version 1" in out
    shown = ok(["models", "show", "breast_cancer", "production"], tmp_path)
    assert "breast_cancer version 1" in shown
    assert "alice" in shown and "rollback" in shown and "promote" in shown

    fails(
        ["models", "show", "breast_cancer", "staging"],
        tmp_path,
        "no alias 'staging'",
        "candidate, production",
    )
    fails(["models", "archive", "breast_cancer", "1"], tmp_path, "still holds the alias")
    fails(["models", "promote", "breast_cancer", "9", "production"], tmp_path, "no version 9")

    bundle = tmp_path / "bundle"
    ok(["models", "export", "breast_cancer", "2", str(bundle)], tmp_path)
    assert {p.name for p in bundle.iterdir()} == {
        "model",
        "schema.json",
        "registry.json",
        "requirements.txt",
        "README.md",
    }
    assert "mlconf serve model=./model" in (bundle / "README.md").read_text()
    assert json.loads((bundle / "registry.json").read_text())["version"] == 2
    model = mlconf.load_model(bundle / "model")
    schema = json.loads((bundle / "schema.json").read_text())
    assert model.input_columns == schema["input_columns"]
    fails(["models", "export", "breast_cancer", "2", str(bundle)], tmp_path, "not an empty")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]

    fails(["models", "archive", "breast_cancer", "1"], tmp_path, "production")


def test_requirements_are_pinned() -> None:
    text = requirements()
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert any(line.startswith("scikit-learn==") for line in pins)
    assert all("==" in line or ";" in line for line in pins)
    # xgboost differs by platform: both lines keep their markers, so pip on the serving
    # machine picks the one for its platform
    xgboost = [line for line in pins if line.startswith("xgboost")]
    assert len(xgboost) == 2 and all("sys_platform" in line for line in xgboost), xgboost
