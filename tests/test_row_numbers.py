"""One row numbering everywhere: the first data row (after the header) is row 1 in the
validation table of `mlconf train`, its quarantine.csv, the split file and `mlconf predict`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import LEAN, csv_data, run_train

from mlconf.core.errors import MlconfError
from mlconf.deploy.batch import predict_file

BAD_ROW = 5  # 1-based: the fifth data row of the file


def _table(path: Path) -> Path:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=200), rng.normal(size=200)
    y = np.where(x1 + x2 + rng.normal(scale=0.5, size=200) > 0, "yes", "no")
    frame = pd.DataFrame({"x1": x1.astype(object), "x2": x2, "y": y})
    frame.loc[BAD_ROW - 1, "x1"] = "oops"
    frame.to_csv(path, index=False)
    return path


def _schema(on_error: str) -> list[str]:
    return [
        f"schema.on_error={on_error}",
        "+schema.columns={x1: {dtype: float}}",
    ]


def test_train_and_predict_name_the_same_row(tmp_path: Path) -> None:
    source = _table(tmp_path / "cells.csv")
    overrides = [*csv_data(source), "problem.target=y", "problem.positive_class=yes", *LEAN]
    with pytest.raises(MlconfError) as failed:
        run_train([*overrides, *_schema("fail")], tmp_path / "failed")
    assert f"coerce_dtype('float64')  {BAD_ROW} " in str(failed.value)

    result = run_train([*overrides, *_schema("quarantine")], tmp_path / "run")
    quarantined = pd.read_csv(result.run_dir / "data" / "quarantine.csv")
    assert quarantined["_row"].tolist() == [BAD_ROW]
    split = pd.read_csv(result.run_dir / "data" / "split.csv")
    assert BAD_ROW not in set(split["row"]) and split["row"].min() == 1

    registry = f"sqlite:///{tmp_path / 'mlconf.db'}"
    predict_file(
        str(result.run_dir / "model"),
        str(source),
        tmp_path / "scored.csv",
        chunk_rows=50,
        registry_url=registry,
    )
    rejected = pd.read_csv(tmp_path / "scored.csv.quarantine.csv")
    assert rejected["row"].tolist() == [BAD_ROW]
