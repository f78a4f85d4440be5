"""Composition from the command line and from Python: flags anywhere, errors that say what,
where and how to fix, mappings that replace, and the Python API outside any Hydra app."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import TRACEBACK, cli, output_of
from hypothesis import assume, given
from hypothesis import strategies as st

import mlconf
from mlconf.core.errors import MlconfError


def _project(tmp_path: Path, experiments: dict[str, str]) -> Path:
    """A project folder with ./conf/experiment/<name>.yaml files."""
    folder = tmp_path / "conf" / "experiment"
    folder.mkdir(parents=True)
    for name, text in experiments.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


GOOD = """\
    # @package _global_
    defaults:
      - override /data: wine
      - override /problem: wine
    """
BROKEN = "# @package _global_\nmodel:\n  params: {max_depth: 3\n"
NOT_GLOBAL = "defaults:\n  - override /model: logistic\n"


def test_a_flag_after_the_overrides_works_in_a_project_folder(tmp_path: Path) -> None:
    # The project's ./conf adds a search-path override the user never typed; Hydra's
    # parser refused it when it came after --cfg.
    project = _project(tmp_path, {"mine": GOOD})
    proc = cli(["train", "experiment=mine", "--cfg", "job"], cwd=project)
    assert proc.returncode == 0, output_of(proc)
    assert "name: wine" in proc.stdout  # data: wine, from the project's experiment


def test_a_misspelled_key_names_the_key_it_meant() -> None:
    with pytest.raises(MlconfError) as caught:
        mlconf.compose("train", ["split.tset_size=0.3"])
    message = str(caught.value)
    assert "config key split.tset_size" in message
    assert "Did you mean 'test_size'?" in message
    assert "+split" not in message  # Hydra's advice would add the typo to the config


@pytest.mark.parametrize(
    ("override", "meant"), [("model=xgb", "xgboost"), ("experiment=winne", "wine")]
)
def test_an_unknown_group_option_names_the_closest(override: str, meant: str) -> None:
    with pytest.raises(MlconfError) as caught:
        mlconf.compose("train", [override])
    message = str(caught.value)
    assert f"override {override}" in message
    assert f"Did you mean '{meant}'?" in message
    assert "use one of:" in message


def test_an_unknown_experiment_without_a_conf_folder_says_where_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MlconfError) as caught:
        mlconf.compose("train", ["experiment=shop"])
    assert "no ./conf folder" in str(caught.value)
    assert "hydra.searchpath" in str(caught.value)


def test_an_experiment_file_without_package_global_gets_the_hint(tmp_path: Path) -> None:
    project = _project(tmp_path, {"plain": NOT_GLOBAL})
    with pytest.raises(MlconfError) as caught:
        mlconf.compose("train", ["experiment=plain"], config_dir=project / "conf")
    assert "# @package _global_" in str(caught.value)
    assert "experiment/plain.yaml" in str(caught.value)


def test_a_broken_file_the_run_does_not_use_does_not_stop_it(tmp_path: Path) -> None:
    project = _project(tmp_path, {"good": GOOD, "broken": BROKEN})
    cfg = mlconf.compose("train", ["experiment=good"], config_dir=project / "conf")
    assert cfg.data.name == "wine"


def test_a_broken_file_the_run_uses_is_named_with_its_line(tmp_path: Path) -> None:
    project = _project(tmp_path, {"good": GOOD, "broken": BROKEN})
    with pytest.raises(MlconfError) as caught:
        mlconf.compose("train", ["experiment=broken"], config_dir=project / "conf")
    assert f"{project / 'conf' / 'experiment' / 'broken.yaml'}:" in str(caught.value)
    assert "not valid YAML" in str(caught.value)


def test_cli_errors_are_one_paragraph_without_a_traceback(tmp_path: Path) -> None:
    project = _project(tmp_path, {"plain": NOT_GLOBAL})
    for args in (["split.tset_size=0.3"], ["experiment=plain"], ["model=xgb", "--cfg", "job"]):
        proc = cli(["train", *args], cwd=project)
        assert proc.returncode == 2, output_of(proc)
        assert proc.stderr.startswith("mlconf: error:"), proc.stderr
        assert "Fix:" in proc.stderr
        assert TRACEBACK not in output_of(proc)


def test_hydra_full_error_still_shows_the_traceback(tmp_path: Path) -> None:
    proc = cli(["train", "model=xgb"], cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert proc.returncode != 0
    assert TRACEBACK in proc.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("problem.costs={}", {}),
        ("problem.costs={fp: 2, fn: 7}", {"fp": 2.0, "fn": 7.0}),
        ("tune.sampler_params={n_startup_trials: 5}", {"n_startup_trials": 5}),
    ],
)
def test_a_mapping_on_the_command_line_replaces_the_mapping(
    override: str, expected: dict[str, float]
) -> None:
    cfg = mlconf.compose("train", [override])
    key = override.partition("=")[0]
    from omegaconf import OmegaConf

    assert OmegaConf.to_container(OmegaConf.select(cfg, key)) == expected


def test_a_section_given_as_a_mapping_keeps_its_other_defaults() -> None:
    cfg = mlconf.compose("train", ["split={test_size: 0.3}"])
    assert cfg.split.test_size == 0.3
    assert cfg.split.method == "holdout"


def test_an_unknown_command_is_refused() -> None:
    with pytest.raises(MlconfError, match=r"unknown command 'trian'\. Did you mean 'train'"):
        mlconf.compose("trian")


@pytest.mark.slow
def test_the_python_api_trains_predicts_and_monitors_outside_any_hydra_app(
    tmp_path: Path,
) -> None:
    script = textwrap.dedent(
        """
        import json
        import numpy as np
        import pandas as pd
        from sklearn.datasets import load_wine
        import mlconf
        cfg = mlconf.compose("train", overrides=[
            "experiment=wine", "model.params.n_estimators=10", "metrics.bootstrap=20",
            "stages=[load,validate,split,train,evaluate,save]",
        ])
        run = mlconf.train(cfg)
        model = run.load_model()
        rows = load_wine(as_frame=True).frame.drop(columns="target").head(40)
        rows.to_csv("current.csv", index=False)
        scored = mlconf.predict(str(run.model_dir), rows.iloc[:, ::-1])
        same = bool((scored["prediction"].to_numpy() == model.predict(rows)).all())
        proba = scored.filter(like="proba_").to_numpy()
        close = bool(np.allclose(proba, model.predict_proba(rows)))
        watched = mlconf.monitor(run.model_dir, "current.csv")
        print(json.dumps({
            "dir": str(run.run_dir), "status": run.status, "passed": run.passed,
            "verdicts": len(run.verdicts), "classes": [str(c) for c in model.classes],
            "same": same, "close": close, "columns": list(scored.columns),
            "monitored_rows": watched.summary["current"]["rows"],
            "monitor_dir": str(watched.out_dir),
        }))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    run_dir = tmp_path / result["dir"]
    assert run_dir.parent == tmp_path / "experiments" / "wine" / "runs"
    assert result["status"] == "succeeded"
    assert (run_dir / "model" / "manifest.json").is_file()
    assert (run_dir / "config.yaml").is_file()
    assert result["verdicts"] >= 1
    assert len(result["classes"]) == 3
    # predict: the model's own answers, whatever the column order of the frame
    assert result["same"] and result["close"]
    assert result["columns"] == ["prediction", *(f"proba_{c}" for c in result["classes"])]
    # monitor: one run over the 40 rows, its summary written where the CLI writes it
    assert result["monitored_rows"] == 40
    assert (tmp_path / result["monitor_dir"] / "monitoring.json").is_file()


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_short_form_value_reaches_the_config_whole(value: str) -> None:
    # Paths, refs and SQL with quotes, commas, spaces and backslashes are taken as typed.
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mlconf.config.aliases import quote

    assume(value not in ("null", "None"))
    parsed = OverridesParser.create().parse_overrides([f"a={quote(value)}"])[0]
    assert parsed.value() == value


def test_short_forms_spell_the_full_keys() -> None:
    from mlconf.config.aliases import expand

    assert expand("predict", ["keep=Name, Year", "input=sql:SELECT a, b FROM t"]) == [
        "deploy.batch.keep=['Name','Year']",
        "deploy.batch.input='sql:SELECT a, b FROM t'",
    ]
    assert expand("serve", ["port=8080", "serve.max_records=5", "experiment=cars"]) == [
        "deploy.serve.port=8080",
        "deploy.serve.max_records=5",
        "experiment=cars",
    ]
    assert expand("train", ["model=xgb"]) == ["model=xgb"]
    # a list-typed key: one list, or with -m one job per item
    assert expand("monitor", ["drift.numeric=psi,ks"]) == ["monitoring.drift.numeric=[psi,ks]"]
    assert expand("monitor", ["-m", "drift.numeric=psi,ks"])[1] == (
        "monitoring.drift.numeric=[psi],[ks]"
    )


@pytest.mark.slow
def test_the_config_a_run_saved_reruns_it(tmp_path: Path) -> None:
    stages = "stages=[load,validate,split,train,evaluate,save]"
    small = ["model.params.n_estimators=7", "metrics.bootstrap=20"]
    first = cli(["train", "experiment=wine", *small, stages], cwd=tmp_path)
    assert first.returncode == 0, output_of(first)
    (run_dir,) = (tmp_path / "experiments" / "wine" / "runs").iterdir()
    again = cli(["train", "--config-dir", str(run_dir), "--config-name", "config"], cwd=tmp_path)
    assert again.returncode == 0, output_of(again)
    runs = sorted((tmp_path / "experiments" / "wine" / "runs").iterdir())
    assert len(runs) == 2
    import yaml

    before, after = (yaml.safe_load((r / "config.yaml").read_text()) for r in runs)
    assert after == before  # the same config, so the same run (same seed)
    metrics = [json.loads((r / "metrics.json").read_text())["test"]["model"] for r in runs]
    assert metrics[0] == metrics[1]


def _optional_keys(schema: type, prefix: str = "") -> list[str]:
    import dataclasses
    import typing

    hints = typing.get_type_hints(schema)
    keys: list[str] = []
    for field in dataclasses.fields(schema):
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            keys += _optional_keys(hint, f"{prefix}{field.name}.")  # type: ignore[arg-type]
        elif type(None) in typing.get_args(hint):
            keys.append(f"{prefix}{field.name}")
    return keys


def test_every_optional_key_accepts_null() -> None:
    from mlconf.config import TrainConfig
    from mlconf.runner import typed

    keys = _optional_keys(TrainConfig)
    assert "tune.timeout" in keys and "monitoring.window" in keys
    conf = typed(mlconf.compose("train", [f"{key}=null" for key in keys]))
    assert conf.tune.timeout is None and conf.deploy.serve.api_key_env is None


@pytest.mark.parametrize("command", ["train", "predict", "serve", "monitor"])
@pytest.mark.parametrize("experiment", ["breast_cancer", "wine", "diabetes", "cars"])
def test_every_command_composes_every_experiment(command: str, experiment: str) -> None:
    from mlconf.runner import typed

    conf = typed(mlconf.compose(command, [f"experiment={experiment}"]))
    assert conf.experiment_name == experiment
    assert conf.deploy.model_name == experiment


@pytest.mark.parametrize(
    ("command", "args", "line"),
    [
        ("predict", ["input=a.csv", "output=b.csv", "experiment=cars"], "input: a.csv"),
        ("serve", ["experiment=wine", "port=8123"], "port: 8123"),
        ("monitor", ["experiment=cars", "current=new.csv"], "current: new.csv"),
    ],
)
def test_each_command_prints_its_composed_config(
    tmp_path: Path, command: str, args: list[str], line: str
) -> None:
    proc = cli([command, *args, "--cfg", "job"], cwd=tmp_path)
    assert proc.returncode == 0, output_of(proc)
    assert line in proc.stdout
    assert "name: " in proc.stdout  # the experiment's data group, composed like train's
    assert not list(tmp_path.iterdir())  # nothing written: no run folder, no log


def _differences(composed: Any, schema: Any, path: str) -> list[str]:
    from omegaconf import OmegaConf

    if OmegaConf.is_dict(composed) and OmegaConf.is_dict(schema):
        return [
            diff
            for key in composed
            if key in schema
            for diff in _differences(
                composed._get_node(key), schema._get_node(key), f"{path}.{key}"
            )
        ]
    left = OmegaConf.to_container(composed) if OmegaConf.is_config(composed) else composed
    right = OmegaConf.to_container(schema) if OmegaConf.is_config(schema) else schema
    left = left._value() if hasattr(left, "_value") else left
    right = right._value() if hasattr(right, "_value") else right
    return (
        [] if left == right or right in ([], {}) else [f"{path}: yaml {left!r}, schema {right!r}"]
    )


@pytest.fixture(scope="module")
def default_train() -> tuple[Any, Any]:
    """`train` composed with no overrides, and the schema's defaults, each made once for the
    groups compared below (read only)."""
    from omegaconf import OmegaConf

    from mlconf.config import TrainConfig

    return mlconf.compose("train"), OmegaConf.structured(TrainConfig)


@pytest.mark.parametrize(
    "group", ["deploy", "monitoring", "explain", "explore", "privacy", "prepare", "tune"]
)
def test_the_default_files_and_the_schema_agree(group: str, default_train: tuple[Any, Any]) -> None:
    # Defaults are written in the schema (for Python) and in conf/<group>/default.yaml (the
    # documented file users read and copy); a change to one must be made to the other.
    composed, schema = default_train
    assert _differences(composed[group], schema[group], group) == []


def test_compose_inside_a_hydra_app_leaves_its_state_alone() -> None:
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from mlconf.core.paths import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        outer = GlobalHydra.instance().hydra
        assert mlconf.compose("serve", ["port=9"]).deploy.serve.port == 9
        assert GlobalHydra.instance().hydra is outer
