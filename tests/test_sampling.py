"""Analyses on seeded samples mean what they meant on all rows, within the stated bounds.

The data profile and the interpretation run on samples of a size set in config
(explore.max_rows, explain.max_rows); each records how many rows it used and the 95% bound
on a share estimated from them (`share_margin_95`, run_state.sample_note). These tests
compute each result on every row and on a sample, and hold the difference to that bound.
Tolerance: every share checked within 1.5 x share_margin_95 (many shares are checked at once,
and the bound holds for each 19 times in 20); counts the profile states for every row are
equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlconf.config import ExploreConfig, FeaturesConfig, ModelConfig
from mlconf.ml.explore import profile
from mlconf.ml.interpret.contributions import explain_rows
from mlconf.ml.interpret.importance import permutation_importance
from mlconf.ml.pipeline import build_pipeline
from mlconf.run_state import sample_note

ROWS = 40_000
SAMPLE = 4_000


def frame(rows: int = ROWS, seed: int = 3) -> pd.DataFrame:
    """Skewed, heavy-tailed and discrete numeric columns, categories, missing values, target."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "normal": rng.normal(10.0, 3.0, rows),
            "lognormal": rng.lognormal(0.0, 1.2, rows),
            "heavy": rng.standard_t(2, rows),
            "counts": rng.poisson(3.0, rows).astype(float),
            "colour": rng.choice(["red", "green", "blue", "grey"], rows, p=[0.5, 0.3, 0.15, 0.05]),
        }
    )
    data.loc[rng.random(rows) < 0.07, "normal"] = np.nan
    data.loc[rng.random(rows) < 0.02, "colour"] = None
    logit = 0.6 * (data["normal"].fillna(10.0) - 10.0) + np.log(data["lognormal"])
    data["target"] = (logit + rng.logistic(size=rows) > 0).astype(int)
    return data


@pytest.fixture(scope="module")
def profiles() -> tuple[dict[str, Any], dict[str, Any]]:
    data = frame()
    settings: dict[str, Any] = {"association_rows": 2_000}
    every, sampled = (
        profile(
            data,
            target="target",
            task="classification",
            config=ExploreConfig(max_rows=rows, **settings),
            seed=1,
        )
        for rows in (ROWS, SAMPLE)
    )
    return every, sampled


def test_the_sampled_profile_keeps_whole_data_counts(
    profiles: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    every, sampled = profiles
    assert (every["sampled"], sampled["sampled"]) == (False, True)
    assert sampled["sampled_rows"] == SAMPLE and sampled["rows"] == ROWS
    assert sampled["duplicates"] == every["duplicates"]
    for name, column in every["columns"].items():
        assert sampled["columns"][name]["missing_share"] == column["missing_share"]
        assert sampled["columns"][name]["kind"] == column["kind"]


def test_sampled_quartiles_and_frequencies_are_within_the_stated_margin(
    profiles: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    every, sampled = profiles
    data = frame()
    margin = 1.5 * sample_note(SAMPLE, ROWS, "")["share_margin_95"]
    assert 0.01 < margin < 0.03
    for name in ("normal", "lognormal", "heavy", "counts"):
        values = data[name].dropna().to_numpy()
        for key, share in (("q25", 0.25), ("median", 0.5), ("q75", 0.75)):
            estimate = sampled["columns"][name]["stats"][key]
            # the share of all rows at or below the sampled quartile: near the quartile's share
            below = float(np.mean(values < estimate))
            at_or_below = float(np.mean(values <= estimate))
            assert below - margin <= share <= at_or_below + margin, (name, key)
    shares = {v["value"]: v["count"] for v in every["columns"]["colour"]["top_values"]}
    for value in sampled["columns"]["colour"]["top_values"]:
        whole = shares[value["value"]] / ROWS
        assert value["count"] / SAMPLE == pytest.approx(whole, abs=margin), value
    classes = {c["value"]: c["share"] for c in every["target"]["classes"]}
    for c in sampled["target"]["classes"]:
        assert c["share"] == pytest.approx(classes[c["value"]], abs=margin)


def _pipeline(x: pd.DataFrame, y: np.ndarray) -> Any:
    from omegaconf import OmegaConf

    basic = Path(__file__).parents[1] / "conf" / "features" / "basic.yaml"
    features = OmegaConf.to_object(
        OmegaConf.merge(OmegaConf.structured(FeaturesConfig), OmegaConf.load(basic))
    )
    model = ModelConfig(name="xgboost", params={"n_estimators": 30, "n_jobs": 1})
    return build_pipeline(features, model, task="classification").fit(x, y)  # type: ignore[arg-type]


def test_importance_and_contributions_on_a_sample_rank_and_size_the_columns_alike() -> None:
    data = frame(12_000, seed=5)
    x, y = data.drop(columns=["target"]), data["target"].to_numpy()
    pipeline = _pipeline(x.iloc[:6_000], y[:6_000])
    held_x, held_y = x.iloc[6_000:].reset_index(drop=True), y[6_000:]
    keep = np.sort(np.random.default_rng(0).choice(len(held_x), 1_000, replace=False))

    def importance(rows: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
        found = permutation_importance(
            pipeline, rows, labels, metric="roc_auc", task="classification", labels=[0, 1],
            n_repeats=3, seed=0,
        )  # fmt: skip
        return {r["feature"]: r["mean"] for r in found}

    every, sampled = importance(held_x, held_y), importance(held_x.iloc[keep], held_y[keep])
    # The stated noise: of the order of 1/sqrt(rows) of the metric; held to 2x that.
    noise = 2.0 / np.sqrt(len(keep))
    assert max(every, key=every.__getitem__) == max(sampled, key=sampled.__getitem__)
    for column, value in every.items():
        assert sampled[column] == pytest.approx(value, abs=noise), column

    def mean_abs(rows: pd.DataFrame) -> pd.Series:
        contributions = explain_rows(
            pipeline, rows, task="classification", columns=list(x.columns), classes=[0, 1]
        )
        return contributions[list(x.columns)].abs().mean()

    whole, part = mean_abs(held_x), mean_abs(held_x.iloc[keep])
    assert list(whole.sort_values().index[-2:]) == list(part.sort_values().index[-2:])
    # A mean over 1,000 rows: within 10% of the mean over 6,000 for the columns that matter.
    for column in whole.sort_values().index[-2:]:
        assert part[column] == pytest.approx(whole[column], rel=0.1), column
