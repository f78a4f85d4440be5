"""Batch scoring (`mlconf predict`): chunks, formats, quarantine, atomic output, bad input."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import CARS, FAST, TRACEBACK, cli, output_of, run_train

from mlconf import load_model
from mlconf.core.errors import MlconfError
from mlconf.deploy import batch, chunk_task
from mlconf.deploy.batch import predict_file
from mlconf.deploy.scoring import score
from mlconf.store.artifacts import TrainedModel

ROWS = 2_500
CHUNK = 500
URL = "sqlite:///unused-registry.db"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cars model (three classes, text and numeric columns, Name as id column)."""
    run_dir = tmp_path_factory.mktemp("batch") / "run"
    overrides = [
        "experiment=cars",
        *FAST,
        "report.enabled=false",
        "explore.enabled=false",
        "explain.enabled=false",  # scoring never reads the interpretation
    ]
    run_train(overrides, run_dir)
    return run_dir / "model"


@pytest.fixture(scope="module")
def model(model_dir: Path) -> TrainedModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    """2,500 rows of cars (5x the chunk size) without the target, Name made unique."""
    cars = pd.read_csv(CARS).drop(columns=["Origin"])
    frame = cars.sample(ROWS, replace=True, random_state=0).reset_index(drop=True)
    frame["Name"] = [f"{name} #{i}" for i, name in enumerate(frame["Name"])]
    return frame


def run(model_dir: Path, input: Path | str, output: Path, **kw: Any) -> batch.BatchSummary:
    kw.setdefault("chunk_rows", CHUNK)
    return predict_file(str(model_dir), str(input), output, registry_url=URL, **kw)


def expected(model: TrainedModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    proba = model.predict_proba(frame)
    assert proba is not None
    return model.predict(frame), proba


def assert_scored(out: pd.DataFrame, model: TrainedModel, frame: pd.DataFrame) -> None:
    labels, proba = expected(model, frame)
    assert out["prediction"].astype(str).tolist() == [str(v) for v in labels]
    for i, cls in enumerate(model.classes):
        np.testing.assert_allclose(out[f"proba_{cls}"].to_numpy(float), proba[:, i], rtol=1e-6)


def test_csv_five_times_the_chunk_size(
    model_dir: Path, model: TrainedModel, big: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    big.to_csv(source, index=False)
    summary = run(model_dir, source, tmp_path / "out.csv")
    assert (summary.rows, summary.scored, summary.quarantined, summary.chunks) == (
        ROWS,
        ROWS,
        0,
        5,
    )
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == [
        "row",
        "Name",
        "prediction",
        *(f"proba_{c}" for c in model.classes),
        "model_version",
        "scored_at",
    ]
    assert out["row"].tolist() == list(range(1, ROWS + 1))
    assert out["Name"].tolist() == big["Name"].tolist()
    digest = model.manifest["files"]["pipeline.skops"]
    assert set(out["model_version"]) == {f"sha256:{digest[:12]}"}
    assert pd.to_datetime(out["scored_at"]).notna().all()
    # identical to scoring the whole frame in memory at once
    assert_scored(out, model, big)
    assert not (tmp_path / "out.csv.quarantine.csv").exists()
    assert "quarantined 0 rows" in summary.line()


def test_parquet_in_and_out_with_keep(
    model_dir: Path,
    model: TrainedModel,
    big: pd.DataFrame,
    tmp_path: Path,
    parquet_engine_in_use: str,
) -> None:
    source = tmp_path / "in.parquet"
    big.to_parquet(source, index=False)
    summary = run(model_dir, source, tmp_path / "out.parquet", keep=["Year"], chunk_rows=700)
    assert summary.chunks == 4 and summary.scored == ROWS
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["Year"].tolist() == big["Year"].tolist()
    assert out["Name"].tolist() == big["Name"].tolist()
    assert_scored(out, model, big)


def test_invalid_rows_are_quarantined_with_row_and_reason(
    model_dir: Path, model: TrainedModel, big: pd.DataFrame, tmp_path: Path
) -> None:
    frame = big.astype({"Horsepower": object, "Cylinders": object})
    frame.loc[3, "Horsepower"] = "lots"  # not a number
    frame.loc[1200, "Cylinders"] = 7  # not an allowed value
    frame.loc[2499, "Make"] = None  # not nullable in the cars schema
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    summary = run(model_dir, source, tmp_path / "out.csv")
    assert summary.quarantined == 3 and summary.scored == ROWS - 3
    assert "quarantined 3 row(s)" in summary.line()
    bad = pd.read_csv(tmp_path / "out.csv.quarantine.csv")
    assert bad["row"].tolist() == [4, 1201, 2500]  # 1-based data rows of the input
    reasons = bad["reason"].tolist()
    assert "Horsepower" in reasons[0] and "lots" in reasons[0]
    assert "Cylinders" in reasons[1] and "isin" in reasons[1]
    assert "Make" in reasons[2] and "nullable" in reasons[2]
    assert bad["Name"].tolist() == frame.loc[[3, 1200, 2499], "Name"].tolist()
    out = pd.read_csv(tmp_path / "out.csv")
    assert set(out["row"]) == set(range(1, ROWS + 1)) - {4, 1201, 2500}
    kept = big.drop(index=[3, 1200, 2499])
    assert_scored(out, model, kept)


def test_a_chunk_where_every_row_fails_is_quarantined_not_fatal(
    model_dir: Path, big: pd.DataFrame, tmp_path: Path
) -> None:
    frame = big.head(1000).astype({"Cylinders": object})
    frame.loc[500:999, "Cylinders"] = 7
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    quarantine = tmp_path / "bad" / "rows.csv"
    summary = run(model_dir, source, tmp_path / "out.csv", quarantine=quarantine)
    assert (summary.scored, summary.quarantined) == (500, 500)
    assert len(pd.read_csv(quarantine)) == 500


def test_sql_input(model_dir: Path, model: TrainedModel, big: pd.DataFrame, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        big.to_sql("cars", conn, index=False)
    summary = run(model_dir, "sql:SELECT * FROM cars", tmp_path / "out.csv", url=f"sqlite:///{db}")
    assert summary.chunks == 5
    assert_scored(pd.read_csv(tmp_path / "out.csv"), model, big)


def test_a_crash_midway_leaves_no_output(
    model_dir: Path, big: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.csv"
    frame = big.astype({"Cylinders": object})
    frame.loc[10, "Cylinders"] = 7  # a quarantined row, so a quarantine file is in progress
    frame.to_csv(source, index=False)
    calls = {"n": 0}

    def crash_on_third(model: TrainedModel, chunk: pd.DataFrame) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return score(model, chunk)

    monkeypatch.setattr(chunk_task, "score", crash_on_third)
    out = tmp_path / "out" / "scored.parquet"
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(model_dir, source, out)
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no output, no temp file
    # an existing output survives a crash of the run that would have replaced it
    out.write_bytes(b"old")
    calls["n"] = 0
    with pytest.raises(RuntimeError):
        run(model_dir, source, out, overwrite=True)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["scored.parquet"]


# --- bad input ----------------------------------------------------------------------------------


def error_of(model_dir: Path, input: Path | str, output: Path, **kw: Any) -> str:
    with pytest.raises(MlconfError) as info:
        run(model_dir, input, output, **kw)
    return str(info.value)


def test_input_missing_a_training_column_names_it_and_the_closest(
    model_dir: Path, big: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    big.rename(columns={"Horsepower": "horse_power"}).to_csv(source, index=False)
    message = error_of(model_dir, source, tmp_path / "out.csv")
    assert "Horsepower" in message and "Did you mean 'horse_power'" in message
    assert not (tmp_path / "out.csv").exists()


def test_bad_input_messages(model_dir: Path, big: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    big.head(20).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    assert "does not exist" in error_of(model_dir, tmp_path / "nope.csv", out)
    assert "format" in error_of(model_dir, tmp_path / "in.xlsx", out)
    assert "output format" in error_of(model_dir, source, tmp_path / "out.json")
    with pytest.raises(MlconfError, match="does not exist"):
        run(tmp_path / "no-model", source, out)
    with pytest.raises(MlconfError, match="registry"):
        run(Path("cars@production"), source, out)
    assert "keep=" in error_of(model_dir, source, out, keep=["Colour"])
    assert "chunk_rows" in error_of(model_dir, source, out, chunk_rows=0)
    assert "overwrite the input" in error_of(model_dir, source, source)
    out.write_text("precious")
    assert "already exists" in error_of(model_dir, source, out)
    assert out.read_text() == "precious"
    run(model_dir, source, out, overwrite=True)
    assert len(pd.read_csv(out)) == 20


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("bad_rows", [0, 2])
def test_quarantine_and_output_must_be_different_files(
    model_dir: Path, big: pd.DataFrame, tmp_path: Path, overwrite: bool, bad_rows: int
) -> None:
    frame = big.head(20).astype({"Horsepower": object})
    frame.loc[: bad_rows - 1, "Horsepower"] = "lots"
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "same.csv"
    if overwrite:
        out.write_text("an older scoring")
    for quarantine in (out, tmp_path / "sub" / ".." / "same.csv"):
        with pytest.raises(MlconfError, match="the quarantine file and the output are the same"):
            run(model_dir, source, out, quarantine=quarantine, overwrite=overwrite)
        # refused before any work: an existing file is left as it was, none is made
        assert out.read_text() == "an older scoring" if overwrite else not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_folder_not_writable(model_dir: Path, big: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    big.head(5).to_csv(source, index=False)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert "not writable" in error_of(model_dir, source, locked / "out.csv")
    finally:
        locked.chmod(0o700)


def test_cli_end_to_end(model_dir: Path, big: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    big.to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    args = ["predict", f"model={model_dir}", f"input={source}", f"output={out}"]
    proc = cli([*args, f"chunk_rows={CHUNK}", "keep=Year"], cwd=tmp_path)
    assert proc.returncode == 0, output_of(proc)
    assert f"scored {ROWS:,} of {ROWS:,} rows in 5 chunk(s)" in proc.stdout
    assert len(pd.read_csv(out)) == ROWS
    # a second run refuses to replace the output, without a traceback
    proc = cli(args, cwd=tmp_path)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert TRACEBACK not in output_of(proc)
    proc = cli(["predict", f"model={model_dir}", f"inptu={source}"], cwd=tmp_path)
    assert proc.returncode == 2 and "Did you mean 'input'" in proc.stderr
    proc = cli(["predict", "--help"])
    assert proc.returncode == 0 and "chunk_rows=" in proc.stdout and "quarantine=" in proc.stdout
