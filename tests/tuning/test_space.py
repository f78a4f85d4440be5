"""Search spaces from YAML: every spec type, conditional parameters, and up-front validation."""

from __future__ import annotations

import decimal
import math
import subprocess
import sys
from typing import Any

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from mlconf.core.errors import MlconfError
from mlconf.ml.tuning.space import SearchSpace, parse_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

XGB_SPACE: dict[str, Any] = {
    "n_estimators": {"type": "int", "low": 50, "high": 500, "step": 50},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "max_depth": {"type": "int", "low": 2, "high": 10},
    "booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
    "rate_drop": {"type": "float", "low": 0.0, "high": 0.3, "when": {"booster": "dart"}},
    "subsample": {"type": "float", "low": 0.5, "high": 1.0},
}


def run(space: SearchSpace, n_trials: int, seed: int = 0) -> optuna.Study:
    """A real study whose objective records what `suggest` returned for each trial."""
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True)
    )

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        trial.set_user_attr("suggested", params)
        return sum(float(v) for v in params.values() if isinstance(v, int | float))

    study.optimize(objective, n_trials=n_trials)
    return study


def error(spec: Any) -> str:
    with pytest.raises(MlconfError) as caught:
        parse_space(spec)
    return str(caught.value)


# --- every spec type ----------------------------------------------------------------------------


def test_each_type_suggests_values_of_its_kind() -> None:
    space = parse_space(
        {
            "n": {"type": "int", "low": 50, "high": 500, "step": 50},
            "lr": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "frac": {"type": "float", "low": 0.1, "high": 0.9, "step": 0.2},
            "leaves": {"type": "int", "low": 8, "high": 256, "log": True},
            "booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
            "objective": {"type": "fixed", "value": "binary:logistic"},
        }
    )
    for trial in run(space, 10).trials:
        params = trial.user_attrs["suggested"]
        assert set(params) == set(space.names)
        assert params["n"] in range(50, 501, 50)
        assert 0.01 <= params["lr"] <= 0.3
        assert any(math.isclose(params["frac"], v) for v in (0.1, 0.3, 0.5, 0.7, 0.9))
        assert isinstance(params["leaves"], int) and 8 <= params["leaves"] <= 256
        assert params["booster"] in ("gbtree", "dart")
        assert params["objective"] == "binary:logistic"
        # The constant is recorded with the trial, so best_params rebuild the whole model.
        assert trial.params["objective"] == "binary:logistic"


def test_names_keep_declaration_order() -> None:
    space = parse_space(XGB_SPACE)
    assert space.names == tuple(XGB_SPACE)
    assert len(space) == len(XGB_SPACE)


def test_list_choices_round_trip_through_storage() -> None:
    space = parse_space(
        {"layers": {"type": "categorical", "choices": [[64], [64, 32], {"a": 1}, None]}}
    )
    study = run(space, 12)
    seen = [t.user_attrs["suggested"]["layers"] for t in study.trials]
    assert all(v in ([64], [64, 32], {"a": 1}, None) for v in seen)
    assert space.decode(study.trials[0].params)["layers"] == seen[0]


def test_distributions_cover_every_parameter() -> None:
    space = parse_space(XGB_SPACE)
    distributions = space.distributions()
    assert list(distributions) == list(XGB_SPACE)
    assert isinstance(distributions["n_estimators"], optuna.distributions.IntDistribution)
    assert distributions["n_estimators"].step == 50
    learning_rate, booster = distributions["learning_rate"], distributions["booster"]
    assert isinstance(learning_rate, optuna.distributions.FloatDistribution) and learning_rate.log
    assert isinstance(booster, optuna.distributions.CategoricalDistribution)
    assert booster.choices == ("gbtree", "dart")


def test_omegaconf_nodes_are_accepted() -> None:
    node = OmegaConf.create(
        {
            "layers": {"type": "categorical", "choices": [[64], [64, 32]]},
            "depth": {"type": "int", "low": 1, "high": 3, "when": {"layers": [[64, 32]]}},
        }
    )
    space = parse_space(node)
    for trial in run(space, 10).trials:
        params = trial.user_attrs["suggested"]
        assert ("depth" in params) == (params["layers"] == [64, 32])


def test_importing_the_space_does_not_import_optuna() -> None:
    code = "import sys, mlconf.ml.tuning.space; print('optuna' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# --- conditional parameters ---------------------------------------------------------------------


def test_conditional_present_only_when_active() -> None:
    space = parse_space(XGB_SPACE)
    study = run(space, 30)
    assert len(study.trials) == 30
    boosters = set()
    for trial in study.trials:
        params = trial.user_attrs["suggested"]
        boosters.add(params["booster"])
        assert ("rate_drop" in params) == (params["booster"] == "dart")
        assert ("rate_drop" in trial.params) == (params["booster"] == "dart")
        assert set(params) - {"rate_drop"} == set(XGB_SPACE) - {"rate_drop"}
    assert boosters == {"gbtree", "dart"}


def test_conditional_may_come_before_what_it_depends_on() -> None:
    space = parse_space(
        {
            "rate_drop": {"type": "float", "low": 0.0, "high": 0.3, "when": {"booster": "dart"}},
            "skip_drop": {"type": "float", "low": 0.0, "high": 0.3, "when": {"rate_drop": 0.0}},
            "one_drop": {"type": "categorical", "choices": [True, False], "when": {"sub": 2}},
            "booster": {"type": "categorical", "choices": ["gbtree", "dart", "gblinear"]},
            "sub": {"type": "int", "low": 1, "high": 3},
        }
    )
    assert space.order[:2] == ("booster", "sub")
    assert space.order.index("rate_drop") < space.order.index("skip_drop")
    for trial in run(space, 20).trials:
        params = trial.user_attrs["suggested"]
        assert ("rate_drop" in params) == (params["booster"] == "dart")
        assert ("one_drop" in params) == (params["sub"] == 2)
        assert list(params) == [n for n in space.names if n in params]


def test_when_with_several_values_and_several_keys() -> None:
    space = parse_space(
        {
            "booster": {"type": "categorical", "choices": ["gbtree", "dart", "gblinear"]},
            "grow": {"type": "categorical", "choices": ["depthwise", "lossguide"]},
            "depth": {"type": "int", "low": 2, "high": 8, "when": {"booster": ["gbtree", "dart"]}},
            "leaves": {
                "type": "int",
                "low": 8,
                "high": 64,
                "when": {"booster": ["gbtree", "dart"], "grow": "lossguide"},
            },
        }
    )
    for trial in run(space, 30).trials:
        params = trial.user_attrs["suggested"]
        tree = params["booster"] in ("gbtree", "dart")
        assert ("depth" in params) == tree
        assert ("leaves" in params) == (tree and params["grow"] == "lossguide")


def test_chained_conditionals_need_every_link_active() -> None:
    space = parse_space(
        {
            "a": {"type": "categorical", "choices": ["x", "y"]},
            "b": {"type": "categorical", "choices": ["p", "q"], "when": {"a": "x"}},
            "c": {"type": "fixed", "value": 1, "when": {"b": "p"}},
        }
    )
    for trial in run(space, 20).trials:
        params = trial.user_attrs["suggested"]
        assert ("b" in params) == (params["a"] == "x")
        assert ("c" in params) == (params.get("b") == "p")


def test_boolean_condition_does_not_match_one() -> None:
    space = parse_space(
        {
            "flag": {"type": "categorical", "choices": [True, 1]},
            "extra": {"type": "int", "low": 0, "high": 5, "when": {"flag": True}},
        }
    )
    assert space.params["extra"].active({"flag": True})
    assert not space.params["extra"].active({"flag": 1})


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "where", "expected"),
    [
        ({"d": {"type": "integer", "low": 1, "high": 3}}, "d", "Did you mean 'int'"),
        ({"d": {"low": 1, "high": 3}}, "d", "missing key 'type'"),
        ({"d": {"type": "int", "high": 3}}, "d", "missing key 'low'"),
        ({"d": {"type": "float", "low": 0.1}}, "d", "missing key 'high'"),
        ({"d": {"type": "categorical"}}, "d", "missing key 'choices'"),
        ({"d": {"type": "categorical", "choices": []}}, "d", "'choices' must be a non-empty"),
        ({"d": {"type": "categorical", "choices": "a,b"}}, "d", "'choices' must be a non-empty"),
        ({"d": {"type": "categorical", "choices": ["a", "a"]}}, "d", "lists 'a' twice"),
        ({"d": {"type": "fixed"}}, "d", "missing key 'value'"),
        ({"d": {"type": "int", "low": 5, "high": 5}}, "d", "'low' (5) must be below 'high' (5)"),
        ({"d": {"type": "float", "low": 1.0, "high": 0.5}}, "d", "must be below 'high'"),
        ({"d": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "d", "above 0"),
        ({"d": {"type": "int", "low": -1, "high": 9, "log": True}}, "d", "'log: true' needs"),
        (
            {"d": {"type": "float", "low": 0.1, "high": 1.0, "step": 0.1, "log": True}},
            "d",
            "'step' cannot be combined with 'log: true'",
        ),
        (
            {"d": {"type": "int", "low": 1, "high": 9, "step": 2, "log": True}},
            "d",
            "'step' cannot be combined",
        ),
        ({"d": {"type": "int", "low": 1, "high": 9, "step": 0}}, "d", "'step' must be above 0"),
        ({"d": {"type": "int", "low": 50, "high": 500, "step": 40}}, "d", "set 'high' to 490"),
        ({"d": {"type": "float", "low": 0, "high": 0.3, "step": 0.04}}, "d", "set 'high' to 0.28"),
        ({"d": {"type": "int", "low": 1.5, "high": 3}}, "d", "must be a whole number"),
        ({"d": {"type": "int", "low": True, "high": 3}}, "d", "'low' must be a whole number"),
        ({"d": {"type": "float", "low": "1e-3", "high": 1}}, "d", "write 1.0e-3"),
        ({"d": {"type": "float", "low": 0, "high": float("inf")}}, "d", "must be finite"),
        ({"d": {"type": "float", "low": 0, "high": 1, "log": "yes"}}, "d", "'log' must be true"),
        ({"d": {"type": "int", "low": 1, "hihg": 3}}, "d", "Did you mean 'high'"),
        (
            {"d": {"type": "int", "low": 1, "high": 3, "choices": [1]}},
            "d",
            "'choices' belongs to type categorical",
        ),
        ({"d": {"type": "categorical", "choice": ["a"]}}, "d", "Did you mean 'choices'"),
        ({"d": [1, 2]}, "d", "expected a mapping"),
        (
            {"d": {"type": "int", "low": 1, "high": 3, "when": {"bosster": "dart"}}},
            "d",
            "unknown parameter 'bosster'",
        ),
        (
            {"d": {"type": "int", "low": 1, "high": 3, "when": "booster"}},
            "d",
            "'when' must map parameter names",
        ),
        (
            {"d": {"type": "int", "low": 1, "high": 3, "when": {"d": 2}}},
            "d",
            "cycle: d -> d",
        ),
    ],
)
def test_bad_spec_names_parameter_and_key(spec: dict[str, Any], where: str, expected: str) -> None:
    with pytest.raises(MlconfError) as caught:
        parse_space(spec)
    assert caught.value.where == f"search.space.{where}"
    assert expected in str(caught.value)
    assert caught.value.fix


def test_unknown_when_parameter_suggests_closest() -> None:
    message = error(
        {
            "booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
            "rate_drop": {"type": "float", "low": 0, "high": 1, "when": {"bosster": "dart"}},
        }
    )
    assert "search.space.rate_drop" in message
    assert "Did you mean 'booster'" in message


def test_when_value_that_never_occurs_is_rejected() -> None:
    message = error(
        {
            "booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
            "rate_drop": {"type": "float", "low": 0, "high": 1, "when": {"booster": "darts"}},
        }
    )
    assert "search.space.rate_drop" in message
    assert "Did you mean 'dart'" in message
    message = error(
        {
            "depth": {"type": "int", "low": 2, "high": 10, "step": 2},
            "extra": {"type": "int", "low": 0, "high": 5, "when": {"depth": 3}},
        }
    )
    assert "never takes" in message


def test_cycle_is_reported_with_its_path() -> None:
    with pytest.raises(MlconfError) as caught:
        parse_space(
            {
                "a": {"type": "categorical", "choices": [1, 2], "when": {"c": 1}},
                "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}},
                "c": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
                "free": {"type": "int", "low": 0, "high": 1},
            }
        )
    assert "cycle: a -> c -> b -> a" in str(caught.value)
    assert caught.value.where == "search.space.a"


def test_where_prefix_is_configurable() -> None:
    with pytest.raises(MlconfError) as caught:
        parse_space({"d": {"type": "int"}}, where="tuning.xgb.space")
    assert caught.value.where == "tuning.xgb.space.d"


@pytest.mark.parametrize("spec", [[], "x", {}])
def test_space_must_be_a_non_empty_mapping(spec: Any) -> None:
    with pytest.raises(MlconfError) as caught:
        parse_space(spec)
    assert caught.value.where == "search.space"


# --- property: values stay in range, on the grid, positive under log ----------------------------


@st.composite
def numeric_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["int", "float"]))
    log = draw(st.booleans())
    if kind == "int":
        if log:
            low = draw(st.integers(1, 1000))
            return {
                "type": "int",
                "low": low,
                "high": low + draw(st.integers(1, 10_000)),
                "log": True,
            }
        low = draw(st.integers(-1000, 1000))
        step = draw(st.integers(1, 20))
        high = low + step * draw(st.integers(1, 50))
        return {"type": "int", "low": low, "high": high, "step": step}
    if log:
        bottom = draw(st.floats(1e-6, 100.0))
        top = bottom * draw(st.floats(1.01, 1e4))
        return {"type": "float", "low": bottom, "high": top, "log": True}
    bottom = draw(st.integers(-1000, 1000)) / 100
    if draw(st.booleans()):
        grid = draw(st.integers(1, 100)) / 100
        top = float(
            decimal.Decimal(str(bottom)) + decimal.Decimal(str(grid)) * draw(st.integers(1, 30))
        )
        return {"type": "float", "low": bottom, "high": top, "step": grid}
    return {"type": "float", "low": bottom, "high": bottom + draw(st.floats(0.01, 1000.0))}


@settings(max_examples=25, deadline=None)
@given(spec=numeric_specs(), seed=st.integers(0, 2**16))
def test_suggested_values_respect_low_high_step_and_log(spec: dict[str, Any], seed: int) -> None:
    space = parse_space({"x": spec})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(4):
        trial = study.ask()
        value = space.suggest(trial)["x"]
        study.tell(trial, 0.0)
        assert spec["low"] <= value <= spec["high"]
        if spec["type"] == "int":
            assert isinstance(value, int)
        if spec.get("log"):
            assert value > 0
        if spec.get("step"):
            steps = (decimal.Decimal(str(value)) - decimal.Decimal(str(spec["low"]))) / (
                decimal.Decimal(str(spec["step"]))
            )
            assert abs(steps - round(steps)) < decimal.Decimal("1e-6")
