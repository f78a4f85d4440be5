"""The dask engine (mlconf.scale): partitioned loading, validation, split, external-memory
training and batch scoring of a folder, on a few thousand rows in several partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, cli, csv_data, output_of, run_train
from partitions import PROBLEM, ROWS, partition_table, write_parts

from mlconf.core.errors import MlconfError

pytest.importorskip("dask.dataframe")

# schema: f0 at most 2.5 (a few rows fail), plus rows without a target.
SCHEMA = [
    "schema.on_error=quarantine",
    "+schema.columns={f0: {dtype: float, max: 2.5}}",
]
PREP_STAGES = "stages=[load,validate,prepare,split]"


def _quarantine(run_dir: Path) -> pd.DataFrame:
    q = pd.read_csv(run_dir / "data" / "quarantine.csv")
    return q[["_row", "_stage", "_reason"]].sort_values("_row").reset_index(drop=True)


def test_pandas_and_dask_quarantine_the_same_rows(tmp_path: Path) -> None:
    frame = partition_table()
    frame.to_csv(tmp_path / "all.csv", index=False)
    folder = write_parts(frame, tmp_path / "parts", 4)
    common = [*PROBLEM, *SCHEMA, PREP_STAGES]
    pandas_run = run_train([*csv_data(tmp_path / "all.csv"), *common], tmp_path / "pandas")
    dask_run = run_train(
        [*csv_data(folder, kind="parquet"), "data.engine=dask", *common], tmp_path / "dask"
    )
    expected = _quarantine(pandas_run.run_dir)
    got = _quarantine(dask_run.run_dir)
    assert len(expected) > 15  # schema failures, missing targets and the two duplicates
    assert set(expected["_stage"]) == {"validate", "prepare"}
    pd.testing.assert_frame_equal(got, expected)
    assert dask_run.record.counts["rows_prepared"] == pandas_run.record.counts["rows_prepared"]


def test_csv_partitions_validate_like_parquet(tmp_path: Path) -> None:
    frame = partition_table()
    common = ["data.engine=dask", *PROBLEM, *SCHEMA, PREP_STAGES]
    pq_dir = write_parts(frame, tmp_path / "pq", 3)
    csv_dir = write_parts(frame, tmp_path / "csv", 5, kind="csv")
    a = run_train([*csv_data(pq_dir, kind="parquet"), *common], tmp_path / "a")
    b = run_train([*csv_data(f"{csv_dir}/part-*.csv", kind="csv"), *common], tmp_path / "b")
    pd.testing.assert_frame_equal(_quarantine(a.run_dir), _quarantine(b.run_dir))
    assert a.record.counts["split"] == b.record.counts["split"]


def test_split_is_a_seeded_draw_per_row_whatever_the_partitioning() -> None:
    from mlconf.scale.rows import assign_parts, unit_draws

    rows = np.arange(100_000, dtype=np.uint64)
    parts = assign_parts(unit_draws(rows, 42, 0), 0.2, 0.2)
    # the same row gets the same part when drawn alone or in other company
    pieces = np.concatenate(
        [assign_parts(unit_draws(c, 42, 0), 0.2, 0.2) for c in (rows[:7], rows[7:])]
    )
    assert np.array_equal(parts, pieces)
    shares = np.bincount(parts, minlength=3) / len(rows)
    assert shares == pytest.approx([0.64, 0.16, 0.20], abs=0.01)
    other_seed = assign_parts(unit_draws(rows, 43, 0), 0.2, 0.2)
    assert (other_seed != parts).mean() > 0.3


def test_split_counts_do_not_depend_on_partitioning(tmp_path: Path) -> None:
    frame = partition_table()
    common = ["data.engine=dask", *PROBLEM, PREP_STAGES]
    two = run_train(
        [*csv_data(write_parts(frame, tmp_path / "two", 2), kind="parquet"), *common],
        tmp_path / "r2",
    )
    five = run_train(
        [*csv_data(write_parts(frame, tmp_path / "five", 5), kind="parquet"), *common],
        tmp_path / "r5",
    )
    assert two.record.counts["split"] == five.record.counts["split"]


def test_bottom_k_sample_is_bounded_seeded_and_partition_free() -> None:
    from mlconf.scale.rows import BottomK

    frame = pd.DataFrame({"v": np.arange(5000)})
    whole, pieces = BottomK(300, 1), BottomK(300, 1)
    whole.add(frame)
    for chunk in np.array_split(np.arange(5000), 7):
        pieces.add(frame.iloc[chunk])
    a, b = whole.frame(), pieces.frame()
    assert a is not None and b is not None
    assert len(a) == 300
    assert a.index.equals(b.index)


def test_external_memory_model_predicts_like_the_in_memory_one(tmp_path: Path) -> None:
    import xgboost as xgb

    from mlconf.scale.external import fit_external

    frame = partition_table().dropna()
    frame = frame.assign(target=(frame["target"] == "yes").astype(int))
    files = []
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), 4)):
        path = tmp_path / f"p{i}.parquet"
        frame.iloc[piece].to_parquet(path)
        files.append(path)
    columns = ["f0", "f1", "f2", "f3"]

    def load(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
        part = pd.read_parquet(path)
        return part[columns], part["target"].to_numpy()

    class Identity:
        def transform(self, x: pd.DataFrame) -> pd.DataFrame:
            return x

    params = {"n_estimators": 30, "max_depth": 3, "random_state": 0, "tree_method": "hist"}
    streamed = fit_external(xgb.XGBClassifier(**params), Identity(), files, load, n_classes=2)
    in_memory = xgb.XGBClassifier(**params).fit(frame[columns], frame["target"])
    a = streamed.predict_proba(frame[columns])[:, 1]
    b = in_memory.predict_proba(frame[columns])[:, 1]
    assert np.abs(a - b).mean() < 0.02
    assert np.corrcoef(a, b)[0, 1] > 0.99


@pytest.mark.slow
def test_train_on_dask_then_predict_a_folder(tmp_path: Path) -> None:
    frame = partition_table()
    folder = write_parts(frame, tmp_path / "parts", 4)
    run_dir = tmp_path / "run"
    proc = cli(
        [
            "train",
            *csv_data(folder, kind="parquet"),
            *PROBLEM,
            *FAST,
            "data.engine=dask",
            "data.sample_rows=500",
            "model.params.external_memory=true",
            "stages=[load,validate,explore,prepare,split,train,evaluate,save]",
            f"hydra.run.dir={run_dir}",
            f"deploy.registry_url=sqlite:///{tmp_path / 'm.db'}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, output_of(proc)
    text = output_of(proc)
    assert "explore: on a seeded sample of 500" in text
    assert "into xgboost's external memory" in text
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".scale-")]
    scored = tmp_path / "scored.parquet"
    proc = cli(
        ["predict", f"model={run_dir / 'model'}", f"input={folder}", f"output={scored}"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, output_of(proc)
    out = pd.read_parquet(scored)
    assert len(out) == ROWS
    assert out["row"].tolist() == list(range(1, ROWS + 1))
    metrics = pd.read_json(run_dir / "metrics.json", typ="series")
    assert metrics["test"]["model"]["roc_auc"]["value"] > 0.8


def _fails(tmp_path: Path, overrides: list[str]) -> MlconfError:
    with pytest.raises(MlconfError) as info:
        run_train([*PROBLEM, PREP_STAGES, *overrides], tmp_path / "run")
    return info.value


def test_a_path_matching_no_files_names_the_key(tmp_path: Path) -> None:
    err = _fails(
        tmp_path, [*csv_data(f"{tmp_path}/none-*.parquet", kind="parquet"), "data.engine=dask"]
    )
    assert err.where == "data.sources.main.path"
    assert "matches no parquet files" in err.what


def test_mixed_schemas_across_partitions_are_refused(tmp_path: Path) -> None:
    frame = partition_table()
    folder = write_parts(frame, tmp_path / "parts", 3)
    frame.iloc[:10].rename(columns={"f1": "f1_renamed"}).to_parquet(folder / "part-999.parquet")
    err = _fails(tmp_path, [*csv_data(folder, kind="parquet"), "data.engine=dask"])
    assert err.where == "data.sources.main.path"
    assert "part-999.parquet" in err.what and "f1_renamed" in err.what
    assert err.fix and "same columns" in err.fix


def test_a_source_that_cannot_be_partitioned_is_refused() -> None:
    from helpers import compose_train

    from mlconf.runner import typed
    from mlconf.scale.engine import check_engine

    conf = typed(compose_train(["data.engine=dask"]))  # breast_cancer: an sklearn source
    with pytest.raises(MlconfError) as info:
        check_engine(conf)
    assert info.value.where == "data.sources.main.kind"
    assert info.value.fix and "data.engine=pandas" in info.value.fix


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        (["model.params.external_memory=true"], "config key model.params.external_memory"),
        (["data.engine=spark"], "config key data.engine"),
        (["data.engine=dask", "split=kfold"], "config key split.folds"),
        (["data.engine=dask", "split=time"], "config key split.method"),
    ],
)
def test_engine_misconfigurations_name_the_key(overrides: list[str], where: str) -> None:
    from helpers import compose_train

    from mlconf.runner import typed
    from mlconf.scale.engine import check_engine

    source = ["data.sources.main.kind=parquet", "data.sources.main.path=x"]
    conf = typed(compose_train([*source, *overrides]))
    with pytest.raises(MlconfError) as info:
        check_engine(conf)
    assert info.value.where == where


def test_quarantined_rows_keep_no_raw_pii(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCONF_PII_SALT", "test-salt")
    frame = partition_table(400)
    frame["email"] = [f"person{i}@example.com" for i in range(len(frame))]
    folder = write_parts(frame, tmp_path / "parts", 2)
    run_dir = tmp_path / "run"
    run_train(
        [
            *csv_data(folder, kind="parquet"),
            *PROBLEM,
            *SCHEMA,
            "data.engine=dask",
            "privacy.policy.email=hash",
            "stages=[load,validate,privacy,prepare,split]",
        ],
        run_dir,
    )
    text = (run_dir / "data" / "quarantine.csv").read_text()
    assert "_reason" in text and "@example.com" not in text  # rows there, emails hashed
    assert not list(run_dir.glob("**/*.partial"))
