"""The data profile (mlconf.ml.explore) and the explore stage: statistics, warnings, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import CARS, FAST, csv_data, run_train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlconf.config import ExploreConfig
from mlconf.ml.explore import profile, profile_and_heatmap

FASTER = ExploreConfig(association_rows=500)


def strict_json(obj: Any) -> Any:
    """Round-trip as the run writes it; NaN or infinity would make this fail."""
    return json.loads(json.dumps(obj, allow_nan=False, ensure_ascii=False).encode("utf-8"))


def warning_kinds(result: dict[str, Any], column: str | None = None) -> set[str]:
    return {w["kind"] for w in result["warnings"] if column is None or w["column"] == column}


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    return pd.read_csv(CARS)


@pytest.fixture(scope="module")
def cars_profile(cars: pd.DataFrame) -> dict[str, Any]:
    return profile(cars, target="Origin", task="classification", config=FASTER, seed=0)


def test_cars_columns_have_kind_stats_and_top_values(
    cars: pd.DataFrame, cars_profile: dict[str, Any]
) -> None:
    columns = cars_profile["columns"]
    assert cars_profile["rows"] == len(cars) and cars_profile["sampled"] is False
    assert columns["Make"]["kind"] == "categorical"
    assert columns["Make"]["dtype"] == str(cars["Make"].dtype)
    assert columns["Make"]["top_values"][0] == {"value": "ford", "count": 53}
    hp = columns["Horsepower"]
    assert hp["kind"] == "numeric"
    assert hp["missing_share"] == pytest.approx(cars["Horsepower"].isna().mean())
    assert hp["stats"]["median"] == pytest.approx(cars["Horsepower"].median())
    assert hp["stats"]["q25"] <= hp["stats"]["median"] <= hp["stats"]["q75"]
    assert sum(hp["histogram"]["counts"]) == cars["Horsepower"].notna().sum()
    assert len(hp["histogram"]["edges"]) == len(hp["histogram"]["counts"]) + 1
    strict_json(cars_profile)


def test_target_balance_associations_and_correlated_pairs(cars_profile: dict[str, Any]) -> None:
    target = cars_profile["target"]
    assert target["n_classes"] == 3 and sum(c["count"] for c in target["classes"]) == 406
    ranked = [a["mutual_info"] for a in cars_profile["associations"]]
    assert ranked == sorted(ranked, reverse=True)
    pairs = {(p["a"], p["b"]) for p in cars_profile["correlated_pairs"]}
    assert ("Cylinders", "Displacement") in pairs
    assert all(abs(p["correlation"]) > 0.9 for p in cars_profile["correlated_pairs"])


def test_regression_target_gets_distribution_and_correlations(cars: pd.DataFrame) -> None:
    result = profile(cars, target="Horsepower", task="regression", config=FASTER)
    assert result["target"]["stats"]["max"] == cars["Horsepower"].max()
    displacement = next(a for a in result["associations"] if a["feature"] == "Displacement")
    assert displacement["pearson"] == pytest.approx(
        cars["Displacement"].corr(cars["Horsepower"]), abs=1e-9
    )
    assert displacement["spearman"] > 0.8


def test_sampling_above_max_rows_is_recorded(cars: pd.DataFrame) -> None:
    config = ExploreConfig(max_rows=100, association_rows=50)
    first = profile(cars, target="Origin", task="classification", config=config, seed=1)
    again = profile(cars, target="Origin", task="classification", config=config, seed=1)
    assert first["sampled"] is True and first["sampled_rows"] == 100 and first["rows"] == 406
    assert first == again  # seeded
    # missing shares use every row
    assert first["columns"]["Horsepower"]["missing_share"] == pytest.approx(6 / 406)


def test_warnings_constant_empty_sparse_id_like_leak_and_duplicates() -> None:
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "constant": 7,
            "empty": np.nan,
            "sparse": np.where(rng.uniform(size=n) < 0.8, np.nan, 1.0),
            "user_id": [f"u{i:05d}" for i in range(n)],
            "leak": y * 2.0 + 1,
            "leak_text": np.where(y == 1, "yes", "no"),
            "y": y,
        }
    )
    frame = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    result = profile(frame, target="y", task="classification", config=FASTER)
    assert "constant" in warning_kinds(result, "constant")
    assert "all_missing" in warning_kinds(result, "empty")
    assert "high_missing" in warning_kinds(result, "sparse")
    assert "id_like" in warning_kinds(result, "user_id")
    assert "leakage" in warning_kinds(result, "leak")
    assert "leakage" in warning_kinds(result, "leak_text")
    assert "leakage" not in warning_kinds(result, "x")
    assert result["duplicates"]["rows"] == 3 and "duplicates" in warning_kinds(result)
    constant = next(a for a in result["associations"] if a["feature"] == "constant")
    assert constant["mutual_info"] is None and constant["pearson"] is None
    strict_json(result)


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_tiny_data_profiles_without_crashing(rows: int) -> None:
    frame = pd.DataFrame(
        {"group": [f"g{i}" for i in range(rows)], "v": np.arange(rows, dtype=float)}
    ).assign(y=[i % 2 for i in range(rows)])
    for task in ("classification", "regression"):
        result = profile(frame, target="y", task=task, config=FASTER)
        assert result["rows"] == rows
        strict_json(result)


def test_non_ascii_and_markup_names_stay_data(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "<script>alert(1)</script>": ["<b>x</b>", "é", None, "日本"],
            "größe €": [1.0, 2.0, np.nan, 4.0],
            "$x$ price": [1, 2, 3, 4],
            "ziel": ["ja", "nein", "ja", "nein"],
        }
    )
    result, heatmap = profile_and_heatmap(
        frame, target="ziel", task="classification", config=FASTER
    )
    assert "<script>alert(1)</script>" in result["columns"]
    values = {v["value"] for v in result["columns"]["<script>alert(1)</script>"]["top_values"]}
    assert values == {"<b>x</b>", "é", "日本"}
    assert strict_json(result)["columns"]["größe €"]["missing_share"] == 0.25
    from mlconf.ml.explore.plots import save_profile_plots

    plots = save_profile_plots(result, heatmap, tmp_path / "plots" / "explore", tmp_path)
    assert plots and all((tmp_path / p["path"]).stat().st_size > 0 for p in plots)


def test_plots_are_small_pngs_with_captions(tmp_path: Path, cars: pd.DataFrame) -> None:
    from matplotlib.image import imread

    from mlconf.ml.explore.plots import save_profile_plots

    result, heatmap = profile_and_heatmap(
        cars, target="Origin", task="classification", config=FASTER
    )
    plots = save_profile_plots(result, heatmap, tmp_path / "plots" / "explore", tmp_path)
    assert [p["path"] for p in plots] == [
        "plots/explore/target.png",
        "plots/explore/associations.png",
        "plots/explore/correlations.png",
        "plots/explore/missing.png",
    ]
    for plot in plots:
        assert plot["title"] and plot["caption"]
        assert imread(tmp_path / plot["path"]).shape[1] <= 900


MIXED = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(1, 12))
    sized = {"min_size": rows, "max_size": rows}
    columns = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["float", "int", "str", "mixed", "bool", "empty"]))
        if kind == "float":
            values: list[Any] = draw(st.lists(st.floats(allow_nan=True), **sized))
        elif kind == "int":
            values = draw(st.lists(st.integers(-3, 3), **sized))
        elif kind == "str":
            values = draw(st.lists(st.one_of(st.text(max_size=5), st.none()), **sized))
            columns[f"c{i}"] = pd.Series(values, dtype="str")
            continue
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), **sized))
        elif kind == "empty":
            values = [np.nan] * rows
        else:
            values = draw(st.lists(MIXED, **sized))
        columns[f"c{i}"] = pd.Series(values, dtype=object if kind == "mixed" else None)
    columns["target"] = pd.Series(draw(st.lists(st.integers(0, 2), **sized)))
    return pd.DataFrame(columns)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), task=st.sampled_from(["classification", "regression"]))
def test_profile_never_crashes_on_random_frames(frame: pd.DataFrame, task: str) -> None:
    result = profile(frame, target="target", task=task, config=FASTER, seed=0)
    strict_json(result)
    for column in result["columns"].values():
        assert 0.0 <= column["missing_share"] <= 1.0
        assert 0 <= column["distinct"] <= len(frame)
        assert column["kind"] in ("numeric", "boolean", "datetime", "categorical", "text")


def test_explore_stage_writes_profile_plots_and_run_warnings(tmp_path: Path) -> None:
    frame = pd.read_csv(CARS).assign(constant=1)
    path = tmp_path / "cars.csv"
    frame.to_csv(path, index=False)
    result = run_train(
        ["experiment=cars", *csv_data(path, name="cars"), *FAST, "stages=[load,validate,explore]"],
        tmp_path / "run",
    )
    profile_json = json.loads((result.run_dir / "data" / "profile.json").read_text("utf-8"))
    assert profile_json["rows"] == len(frame)
    assert "constant" in warning_kinds(profile_json, "constant")
    assert all((result.run_dir / p["path"]).is_file() for p in profile_json["plots"])
    record = json.loads((result.run_dir / "run.json").read_text())
    assert any("constant" in w and w.startswith("explore:") for w in record["warnings"])


def test_explore_can_be_switched_off(tmp_path: Path) -> None:
    result = run_train(
        [*FAST, "explore.enabled=false", "stages=[load,validate,explore]"], tmp_path / "run"
    )
    assert json.loads((result.run_dir / "data" / "profile.json").read_text()) == {
        "enabled": False,
        "reason": "explore.enabled is false",
    }
    assert not (result.run_dir / "plots").exists()


@pytest.mark.parametrize(
    ("override", "key"),
    [("explore.max_rows=0", "explore.max_rows"), ("explore.id_like_share=1.5", "explore.id_like")],
)
def test_bad_explore_settings_name_their_key(tmp_path: Path, override: str, key: str) -> None:
    from mlconf.core.errors import MlconfError

    with pytest.raises(MlconfError, match=key):
        run_train([override, "stages=[load,validate,explore]"], tmp_path / "run")
