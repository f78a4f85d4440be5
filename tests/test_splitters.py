"""Splitters divide rows into disjoint parts that cover every row; group and time splits keep
their promises; the split stage's leakage checks stop or warn as configured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import NO_EXTRAS, csv_data, run_train
from hypothesis import given, settings
from hypothesis import strategies as st

from mlconf.components.splitters import group, holdout, time
from mlconf.core.errors import MlconfError

PARTS = ("train", "validation", "test")


def assert_partition(parts: dict[str, np.ndarray], n: int) -> None:
    """Parts are disjoint and together hold every row position exactly once."""
    rows = np.concatenate([parts[p] for p in PARTS])
    assert sorted(rows.tolist()) == list(range(n))
    for a in PARTS:
        for b in PARTS:
            if a < b:
                assert not set(parts[a]) & set(parts[b]), (a, b)


def imbalanced(n: int = 500, share: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    y = pd.Series(np.where(rng.uniform(size=n) < share, "rare", "common"))
    return pd.DataFrame({"x": rng.normal(size=n)}), y


# --- holdout ----------------------------------------------------------------------------------


def test_holdout_parts_are_disjoint_and_cover_all_rows() -> None:
    frame, y = imbalanced()
    parts = holdout(frame, y, test_size=0.2, validation_size=0.25, seed=3)
    assert_partition(parts, len(frame))
    assert len(parts["test"]) == 100
    assert len(parts["validation"]) == 100


def test_holdout_stratified_keeps_class_shares() -> None:
    frame, y = imbalanced(n=1000, share=0.13)
    overall = (y == "rare").mean()
    parts = holdout(frame, y, test_size=0.2, validation_size=0.2, seed=1, stratify=True)
    for name in PARTS:
        share = (y.iloc[parts[name]] == "rare").mean()
        assert share == pytest.approx(overall, abs=0.01), name


def test_holdout_is_reproducible_and_seed_dependent() -> None:
    frame, y = imbalanced()
    a = holdout(frame, y, test_size=0.2, validation_size=0.2, seed=7)
    b = holdout(frame, y, test_size=0.2, validation_size=0.2, seed=7)
    c = holdout(frame, y, test_size=0.2, validation_size=0.2, seed=8)
    assert all(np.array_equal(a[p], b[p]) for p in PARTS)
    assert not np.array_equal(a["test"], c["test"])


def test_holdout_without_validation() -> None:
    frame, y = imbalanced(n=50)
    parts = holdout(frame, y, test_size=0.2, validation_size=0.0, seed=0)
    assert len(parts["validation"]) == 0
    assert_partition(parts, 50)


def test_holdout_without_shuffle_keeps_order() -> None:
    frame, y = imbalanced(n=100)
    parts = holdout(frame, y, test_size=0.2, validation_size=0.0, seed=0, shuffle=False)
    assert parts["test"].tolist() == list(range(80, 100))


def test_holdout_impossible_stratification_is_a_clear_error() -> None:
    frame = pd.DataFrame({"x": range(10)})
    y = pd.Series(["a"] * 9 + ["b"])
    with pytest.raises(MlconfError) as info:
        holdout(frame, y, test_size=0.2, validation_size=0.2, seed=0)
    assert "cannot split 10 rows" in str(info.value)
    assert "split.stratify=false" in str(info.value)


# --- group ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.integers(min_value=0, max_value=15), min_size=12, max_size=120).filter(
        lambda g: len(set(g)) >= 4
    ),
    test_size=st.floats(min_value=0.1, max_value=0.5),
    validation_size=st.floats(min_value=0.0, max_value=0.5),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_group_split_never_puts_a_group_in_two_parts(
    groups: list[int], test_size: float, validation_size: float, seed: int
) -> None:
    frame = pd.DataFrame({"g": groups, "x": range(len(groups))})
    y = pd.Series(np.arange(len(groups)) % 2)
    try:
        parts = group(
            frame,
            y,
            test_size=test_size,
            validation_size=validation_size,
            seed=seed,
            group_column="g",
        )
    except MlconfError as exc:
        # too few groups left for the validation part: refused clearly, never mixed
        assert "fewer than 2 groups" in str(exc)
        return
    assert_partition(parts, len(frame))
    seen: dict[int, str] = {}
    for name in PARTS:
        for g in frame["g"].iloc[parts[name]]:
            assert seen.setdefault(g, name) == name, f"group {g} in {seen[g]} and {name}"


def test_group_split_needs_a_known_column() -> None:
    frame = pd.DataFrame({"customer": ["a", "b"] * 10})
    with pytest.raises(MlconfError) as info:
        group(frame, pd.Series([0, 1] * 10), test_size=0.2, validation_size=0.2, seed=0)
    assert "split.group_column is not set" in str(info.value)
    with pytest.raises(MlconfError) as info:
        group(
            frame,
            pd.Series([0, 1] * 10),
            test_size=0.2,
            validation_size=0.2,
            seed=0,
            group_column="custmer",
        )
    assert "Did you mean 'customer'?" in str(info.value)


def test_group_split_with_a_single_group_is_refused() -> None:
    frame = pd.DataFrame({"g": ["only"] * 20})
    with pytest.raises(MlconfError, match="fewer than 2 groups"):
        group(
            frame,
            pd.Series([0, 1] * 10),
            test_size=0.2,
            validation_size=0.2,
            seed=0,
            group_column="g",
        )


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_text", [False, True])
def test_time_split_trains_on_the_past(as_text: bool) -> None:
    rng = np.random.default_rng(0)
    stamps = pd.Series(pd.date_range("2020-01-01", periods=200, freq="D")).sample(
        frac=1.0, random_state=1
    )
    frame = pd.DataFrame(
        {"when": stamps.dt.strftime("%Y-%m-%d") if as_text else stamps, "x": rng.normal(size=200)}
    ).reset_index(drop=True)
    parts = time(frame, frame["x"], test_size=0.2, validation_size=0.25, time_column="when")
    assert_partition(parts, 200)
    when = pd.to_datetime(frame["when"])
    assert when.iloc[parts["train"]].max() <= when.iloc[parts["validation"]].min()
    assert when.iloc[parts["validation"]].max() <= when.iloc[parts["test"]].min()
    assert when.iloc[parts["train"]].max() <= when.iloc[parts["test"]].min()
    assert len(parts["test"]) == 40


def test_time_split_with_ties_keeps_train_not_later_than_test() -> None:
    days = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04"] * 10)
    frame = pd.DataFrame({"day": days, "x": range(40)})
    parts = time(frame, frame["x"], test_size=0.3, validation_size=0.2, time_column="day")
    assert_partition(parts, 40)
    assert frame["day"].iloc[parts["train"]].max() <= frame["day"].iloc[parts["test"]].min()


def test_time_split_refuses_missing_or_unparsable_dates() -> None:
    frame = pd.DataFrame({"day": ["2021-01-01", "not a date", None, "2021-01-04"], "x": range(4)})
    with pytest.raises(MlconfError) as info:
        time(frame, frame["x"], test_size=0.25, validation_size=0.0, time_column="day")
    assert "column 'day' has 2 values that are missing or not dates" in str(info.value)


# --- leakage checks through the runner --------------------------------------------------------


@pytest.fixture(scope="module")
def leaky_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    y = np.where(x + rng.normal(size=n) > 0, "pos", "neg")
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "leak": y, "label": y})
    path = tmp_path_factory.mktemp("leak") / "leaky.csv"
    frame.to_csv(path, index=False)
    return path


LEAKY = ["problem.target=label", "problem.positive_class=pos", "model=logistic"]
LEAKY += ["metrics.bootstrap=0", *NO_EXTRAS]  # the split's leakage check is what is tested


def test_target_copy_as_feature_is_an_error_by_default(leaky_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        run_train([*csv_data(leaky_csv, name="leaky"), *LEAKY], tmp_path / "run")
    message = str(info.value)
    assert "feature(s) leak equal the target 'label'" in message
    assert "split.leakage.target_in_features" in message
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed"
    assert not (tmp_path / "run" / "model").exists()


def test_target_copy_as_feature_warns_when_asked(leaky_csv: Path, tmp_path: Path) -> None:
    result = run_train(
        [*csv_data(leaky_csv, name="leaky"), *LEAKY, "split.leakage.target_in_features=warn"],
        tmp_path / "run",
    )
    assert result.record.status == "succeeded"
    assert any("feature(s) leak equal the target" in w for w in result.record.warnings)


def test_unknown_leakage_policy_is_an_error(leaky_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as info:
        run_train(
            [*csv_data(leaky_csv, name="leaky"), *LEAKY, "split.leakage.target_in_features=maybe"],
            tmp_path / "run",
        )
    assert "unknown policy 'maybe'" in str(info.value)
