"""Composition of the shipped config: every preset and every option composes, converts to the
typed schema and names only known components; bad keys and bad types fail at composition."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

import mlconf.core.paths
from mlconf.config import TrainConfig, store_schemas
from mlconf.config.command_line import open_free_form
from mlconf.core.errors import MlconfError
from mlconf.runner import preflight, typed

CONF = mlconf.core.paths.conf_dir()
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def compose_train(overrides: list[str]) -> DictConfig:
    """Compose `train` the way `mlconf train` does (schemas stored, run-id resolver set)."""
    store_schemas()
    OmegaConf.register_new_resolver("mlconf_run_id", lambda: "test", replace=True)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def composition_error(overrides: list[str]) -> str:
    with pytest.raises(HydraException) as info:
        compose_train(overrides)
    return str(info.value)


def test_the_shipped_groups_are_all_there() -> None:
    for group in ("data", "experiment", "features", "model", "problem", "schema", "split"):
        assert group in GROUPS
    assert options("experiment") == ["breast_cancer", "cars", "diabetes", "wine"]


def test_default_config_composes_and_checks() -> None:
    conf = typed(compose_train([]))
    assert isinstance(conf, TrainConfig)
    preflight(conf)
    assert conf.experiment_name == "breast_cancer"
    assert conf.model.name == "xgboost"
    assert conf.problem.task == "classification"
    assert conf.stages == [
        "load",
        "validate",
        "privacy",
        "explore",
        "prepare",
        "split",
        "select",
        "tune",
        "train",
        "evaluate",
        "explain",
        "fairness",
        "save",
        "report",
        "register",
    ]


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_preset_composes(experiment: str) -> None:
    cfg = compose_train([f"experiment={experiment}"])
    conf = typed(cfg)
    preflight(conf)
    assert conf.experiment_name == experiment
    assert conf.data.name == experiment
    assert conf.data.sources, "a preset must name at least one source"


def _every_group_option() -> Iterator[tuple[str, str]]:
    for group in GROUPS:
        # experiments are composed above
        if group == "experiment":
            continue
        for option in options(group):
            yield group, option


def overrides_for(group: str, option: str) -> list[str]:
    """`group=option` and what the option needs beside it to make a sound config."""
    overrides = [f"{group}={option}"]
    if group == "problem":
        # a problem belongs with its data (the target must be a metric-compatible task)
        overrides.append(f"data={option}")
    if group == "split" and option == "group":
        overrides.append("split.group_column=mean radius")
    if group == "split" and option == "time":
        overrides.append("split.time_column=mean radius")
    if group == "search" and option not in ("none", "auto"):  # auto searches the families
        overrides.append(f"model={option}")  # a space belongs to one model family
    if group == "model" and option == "linear":
        overrides.append("experiment=diabetes")  # least squares is for regression only
    if group == "model" and option == "xgboost_dask":
        overrides.append("cluster=local")  # it trains on a cluster (none is started here)
    return overrides


@pytest.mark.parametrize("command", ["predict", "serve", "monitor"])
def test_every_command_composes_every_option_of_every_group(command: str) -> None:
    # the other commands compose the same groups as train, each with its own primary config
    import mlconf

    def composes(overrides: list[str]) -> bool:
        try:
            conf = typed(mlconf.compose(command, overrides))
        except Exception:
            return False
        return bool(conf.deploy.model_name == conf.experiment_name)

    # Options of different groups are composed together (a compose costs about 0.45 s; every
    # option of every group is in one bundle); a bundle that fails is composed option by
    # option, so an option that fails on its own is named, and one that only clashes with
    # another group's option in the bundle passes as it does alone.
    for bundle in _bundles([overrides_for(g, o) for g, o in _every_group_option()]):
        if composes(list(dict.fromkeys(o for overrides in bundle for o in overrides))):
            continue
        for overrides in bundle:
            conf = typed(mlconf.compose(command, overrides))
            assert conf.deploy.model_name == conf.experiment_name, overrides


def _bundles(choices: list[list[str]]) -> list[list[list[str]]]:
    """`choices` (each one option's overrides) packed so that a bundle sets each group one way:
    choices that touch the same group share a bundle only if they set it alike (a search space
    and its model family go with that model's own option). The widest choices are placed first,
    so the bundles are about as few as the options of the largest group."""

    def by_group(overrides: list[str]) -> dict[str, set[str]]:
        groups: dict[str, set[str]] = {}
        for o in overrides:
            groups.setdefault(o.split("=", 1)[0].split(".", 1)[0].lstrip("+"), set()).add(o)
        return groups

    bundles: list[tuple[dict[str, set[str]], list[list[str]]]] = []
    for overrides in sorted(choices, key=len, reverse=True):
        touched = by_group(overrides)
        for used, bundle in bundles:
            if all(used[group] == sets for group, sets in touched.items() if group in used):
                used.update(touched)
                bundle.append(overrides)
                break
        else:
            bundles.append((touched, [overrides]))
    return [bundle for _, bundle in bundles]


@pytest.mark.parametrize(("group", "option"), list(_every_group_option()))
def test_every_option_of_every_group_composes(group: str, option: str) -> None:
    conf = typed(compose_train(overrides_for(group, option)))
    preflight(conf)
    if group == "model":
        assert conf.model.name == option
    if group == "split":
        assert conf.split.method in ("holdout", "group", "time", "predefined")


def test_overrides_reach_the_typed_config() -> None:
    conf = typed(compose_train(["split.test_size=0.3", "model.params.max_depth=4"]))
    assert conf.split.test_size == pytest.approx(0.3)
    assert conf.model.params["max_depth"] == 4
    assert conf.model.params["n_estimators"] == 200


def test_readme_tour_override_of_an_unlisted_model_param() -> None:
    """The CLI passes model.params.* as `++` overrides (config.command_line.open_free_form)."""
    overrides = ["model=random_forest", "split.test_size=0.3", "model.params.max_depth=4"]
    conf = typed(compose_train(open_free_form(overrides)))
    assert conf.model.params["max_depth"] == 4


def test_unlisted_model_param_can_be_added_with_plus() -> None:
    conf = typed(compose_train(["model=random_forest", "+model.params.max_depth=4"]))
    assert conf.model.params["max_depth"] == 4


# --- failures at composition ------------------------------------------------------------------


def test_misspelled_key_fails_naming_it() -> None:
    message = composition_error(["model.parms.x=1"])
    assert "model.parms" in message


def test_misspelled_top_level_key_fails_naming_it() -> None:
    message = composition_error(["splt.test_size=0.3"])
    assert "splt" in message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("split.test_size=abc", "split.test_size"),
        ("seed=abc", "seed"),
        ("split.folds=2.5", "split.folds"),
        ("split.stratify=maybe", "split.stratify"),
        ("metrics.bootstrap=many", "metrics.bootstrap"),
        ("prepare.missing.drop_columns_over=most", "prepare.missing.drop_columns_over"),
    ],
)
def test_wrong_typed_value_fails_naming_the_key(override: str, key: str) -> None:
    assert key in composition_error([override])


def test_unknown_option_lists_the_available_ones() -> None:
    message = composition_error(["model=xgbost"])
    assert "model/xgbost" in message
    assert "xgboost" in message


def test_misspelled_key_in_a_yaml_file_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "typo.yaml").write_text(
        "# @package _global_\nsplt:\n  test_size: 0.3\n"
    )
    (tmp_path / "experiment" / "badtype.yaml").write_text(
        "# @package _global_\nsplit:\n  test_size: abc\n"
    )
    search = f"hydra.searchpath=[file://{tmp_path}]"
    message = composition_error(["experiment=typo", search])
    assert "splt" in message
    assert "experiment/typo" in message
    message = composition_error(["experiment=badtype", search])
    assert "split.test_size" in message


@pytest.mark.parametrize(
    ("override", "where", "closest"),
    [("+model.parms.x=1", "model.parms", "params"), ("+splt.test_size=0.3", "splt", "split")],
)
def test_misspelled_key_added_with_plus_fails(override: str, where: str, closest: str) -> None:
    """`+key=value` adds a key Hydra does not know; the typed config refuses it by its path."""
    with pytest.raises(MlconfError) as info:
        typed(compose_train([override]))
    message = str(info.value)
    assert message.startswith(f"config key {where}: this key does not exist.")
    assert f"Did you mean '{closest}'?" in message
    assert "Fix: remove it or correct the name; keys there:" in message


# --- property: every scalar key rejects a value of the wrong type ------------------------------


def _scalar_type(hint: Any) -> type | None:
    """int, float or bool for a (possibly optional) scalar field hint, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        hint = inner[0] if len(inner) == 1 else None
    return hint if hint in (int, float, bool) else None


def _scalar_keys(cls: type, prefix: str = "") -> list[tuple[str, type]]:
    keys: list[tuple[str, type]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            keys += _scalar_keys(hint, f"{prefix}{f.name}.")  # type: ignore[arg-type]
            continue
        scalar = _scalar_type(hint)
        if scalar is not None:
            keys.append((f"{prefix}{f.name}", scalar))
    return keys


SCALAR_KEYS = _scalar_keys(TrainConfig)
# Words OmegaConf/Hydra read as booleans, null or special floats.
NOT_A_WORD = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "none", "nan", "inf"}
NOT_A_WORD |= {"infinity"}


def test_the_scalar_keys_cover_every_section() -> None:
    names = {key for key, _ in SCALAR_KEYS}
    for key in ("seed", "split.test_size", "split.folds", "split.stratify", "metrics.bootstrap"):
        assert key in names
    assert {t for _, t in SCALAR_KEYS} == {int, float, bool}


@settings(
    max_examples=15,  # each example composes the whole config (~0.35 s)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key=st.sampled_from(SCALAR_KEYS),
    word=st.from_regex(r"[a-zA-Z][a-zA-Z_]{0,11}", fullmatch=True).filter(
        lambda w: w.lower() not in NOT_A_WORD
    ),
)
def test_any_scalar_key_rejects_a_non_numeric_string(key: tuple[str, type], word: str) -> None:
    name, _ = key
    with pytest.raises(HydraException) as info:
        compose_train([f"{name}={word}"])
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--cfg", "job", "a=1"], ["--cfg", "job", "a=1"]),
        (["-m", "model.params.x=1,2"], ["-m", "++model.params.x=1,2"]),
        (
            ["--info", "searchpath", "model.params.x=1"],
            ["--info", "searchpath", "++model.params.x=1"],
        ),
        (["--info", "model.params.x=1"], ["--info", "++model.params.x=1"]),
        (["+model.params.x=1"], ["+model.params.x=1"]),
    ],
)
def test_free_form_params_become_add_or_replace_overrides(
    args: list[str], expected: list[str]
) -> None:
    assert open_free_form(args) == expected
