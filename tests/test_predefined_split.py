"""split=predefined: a column of part labels, or a test data source, decides the parts
exactly; bad labels and missing columns stop the run clearly; the marker is no feature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import NO_EXTRAS, compose_train, csv_data, quiet_console, run_train

from mlconf.config.compose import compose
from mlconf.core.component_registry import get
from mlconf.core.errors import MlconfError
from mlconf.ml.features import feature_columns
from mlconf.runner import RunResult, run, typed

PARTS = ("train", "validation", "test")
RUN = ["problem.target=label", "problem.positive_class=pos", "model=logistic"]
RUN += ["metrics.bootstrap=0", *NO_EXTRAS, "split=predefined"]  # split last: see below


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(scale=0.5, size=n) > 0, "pos", "neg")
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "label": label})


def predefined(frame: pd.DataFrame, **kwargs: object) -> dict[str, np.ndarray]:
    splitter = get("splitter", "predefined").factory
    params = {"validation_size": 0.25, "seed": 0, "part_column": "part", **kwargs}
    return splitter(frame, frame["label"], **params)  # type: ignore[no-any-return]


def manifest(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "data" / "split.csv")


# --- the splitter -----------------------------------------------------------------------------


def test_labels_decide_every_part_ignoring_case_and_spaces() -> None:
    labels = ["train", " Val", "test", "TRAIN", "valid", "Test", "train", "train", "train"]
    frame = rows(9, 0).assign(part=labels)
    parts = predefined(frame)
    assert parts["train"].tolist() == [0, 3, 6, 7, 8]
    assert parts["validation"].tolist() == [1, 4]
    assert parts["test"].tolist() == [2, 5]


def test_without_validation_rows_they_are_drawn_from_train_seeded_and_stratified() -> None:
    frame = rows(400, 1).assign(part=["train"] * 300 + ["test"] * 100)
    parts = predefined(frame, seed=5)
    assert parts["test"].tolist() == list(range(300, 400))
    assert len(parts["validation"]) == 75
    assert sorted([*parts["train"], *parts["validation"]]) == list(range(300))
    train_share = (frame["label"].iloc[:300] == "pos").mean()
    assert (frame["label"].iloc[parts["validation"]] == "pos").mean() == pytest.approx(
        train_share, abs=0.02
    )
    again = predefined(frame, seed=5)
    assert all(np.array_equal(parts[p], again[p]) for p in PARTS)


def test_configured_labels_replace_the_defaults() -> None:
    frame = rows(4, 0).assign(part=["fit", "holdout", "fit", "check"])
    labels = {"train": ["fit"], "validation": ["check"], "test": ["holdout"]}
    parts = predefined(frame, part_labels=labels)
    assert [parts[p].tolist() for p in PARTS] == [[0, 2], [3], [1]]


def test_values_outside_the_labels_are_an_error_naming_column_values_and_labels() -> None:
    frame = rows(5, 0).assign(part=["train", "tst", None, "test", "dev"])
    with pytest.raises(MlconfError) as info:
        predefined(frame)
    message = str(info.value)
    assert "column 'part' has 3 values that name no part: <missing>, dev, tst" in message
    assert "Allowed: train, validation, valid, val, test" in message
    assert "split.part_labels" in message


def test_a_missing_part_column_is_an_error_with_the_closest_match() -> None:
    frame = rows(4, 0).assign(parts=["train", "train", "test", "test"])
    with pytest.raises(MlconfError) as info:
        predefined(frame)
    assert "split.part_column 'part' is not a column" in str(info.value)
    assert "parts" in str(info.value)


def test_the_part_column_is_not_a_feature() -> None:
    conf = typed(compose_train([*RUN, "split.part_column=fold"]))
    frame = rows(3, 0).assign(fold="train")
    assert feature_columns(conf, frame) == ["x", "z"]
    holdout = typed(compose_train([*RUN[:-1], "split.part_column=fold"]))
    assert "fold" in feature_columns(holdout, frame)


# --- through a run ----------------------------------------------------------------------------


def run_with_test_source(overrides: list[str], name: str, tmp_path: Path) -> RunResult:
    """A run of a project whose conf/data/given.yaml reads the training rows from
    tmp_path/train.csv and a second source `name` from tmp_path/test.csv."""
    data = tmp_path / "conf" / "data" / "given.yaml"
    data.parent.mkdir(parents=True)
    data.write_text(
        f"name: given\nsources:\n  main: {{kind: csv, path: '{tmp_path / 'train.csv'}'}}\n"
        f"  {name}: {{kind: csv, path: '{tmp_path / 'test.csv'}'}}\n"
    )
    registry = f"deploy.registry_url=sqlite:///{tmp_path}/m.db"
    cfg = compose("train", ["data=given", registry, *overrides], config_dir=tmp_path / "conf")
    return run(cfg, run_dir=tmp_path / "run", console=quiet_console())


def test_a_part_column_drives_the_split_exactly(tmp_path: Path) -> None:
    frame = rows(120, 2)
    frame["part"] = ["train"] * 70 + ["validation"] * 20 + ["test"] * 30
    frame = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    path = tmp_path / "marked.csv"
    frame.to_csv(path, index=False)
    result = run_train([*csv_data(path, name="marked"), *RUN], tmp_path / "run")
    assert result.record.status == "succeeded"
    written = manifest(tmp_path / "run").sort_values("row")
    assert written["row"].tolist() == list(range(1, 121))
    assert written["part"].tolist() == frame["part"].tolist()
    saved = (tmp_path / "run" / "model").rglob("*.json")
    model = next(json.loads(p.read_text()) for p in saved if "input_dtypes" in p.read_text())
    assert set(model["input_dtypes"]) == {"x", "z"}  # the part column is no model input


def test_a_test_source_becomes_the_test_part(tmp_path: Path) -> None:
    train, test = rows(100, 3), rows(40, 4)
    train.to_csv(tmp_path / "train.csv", index=False)
    test[["label", "z", "x"]].to_csv(tmp_path / "test.csv", index=False)
    result = run_with_test_source(RUN, "test", tmp_path)
    assert result.record.status == "succeeded"
    written = manifest(tmp_path / "run")
    assert written.loc[written["row"] > 100, "part"].eq("test").all()
    assert written.loc[written["row"] <= 100, "part"].isin(["train", "validation"]).all()
    assert (written["part"] == "validation").sum() == 20
    assert set(result.record.fingerprints) == {"main", "test"}


def test_a_test_source_missing_a_column_names_it_and_the_closest_match(tmp_path: Path) -> None:
    rows(50, 3).to_csv(tmp_path / "train.csv", index=False)
    rows(20, 4).rename(columns={"z": "zz"}).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(MlconfError) as info:
        run_with_test_source([*RUN, "split.test_source=exam"], "exam", tmp_path)
    message = str(info.value)
    assert "test source 'exam' lacks column 'z' of the training data" in message
    assert "zz" in message
