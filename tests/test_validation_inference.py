"""Schema inference: a starter schema from data, as reviewable YAML."""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from validation_cases import CARS

from mlconf.ml.validation import (
    infer_schema,
    schema_yaml,
    validate,
)


def test_infer_schema_round_trips_on_cars() -> None:
    frame = pd.read_csv(CARS)
    inferred = infer_schema(frame)
    columns = inferred["columns"]
    assert columns["Origin"] == {
        "dtype": "str",
        "nullable": False,
        "allowed": ["Europe", "Japan", "USA"],
    }
    assert columns["Horsepower"]["dtype"] == "float" and columns["Horsepower"]["nullable"]
    assert columns["Year"]["dtype"] == "int"
    assert isinstance(columns["Year"]["min"], int) and columns["Year"]["min"] == 1970
    assert "allowed" not in columns["Name"]

    text = schema_yaml(inferred, source="mlconf/core/datasets/cars.csv")
    assert text.startswith("#") and "mlconf/core/datasets/cars.csv" in text.splitlines()[0]
    assert "review" in text.lower()
    loaded = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    assert isinstance(loaded, dict) and loaded == inferred
    result = validate(frame, loaded, source="cars.csv")
    assert result.failures.empty and len(result.valid) == len(frame)


def test_infer_schema_marks_id_like_columns_unique() -> None:
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(30)],
            "n": range(30),
            "x": np.linspace(0, 1, 30),
            "few": ["a"] * 29 + ["b"],
        }
    )
    columns = infer_schema(frame)["columns"]
    assert columns["id"]["unique"] is True and columns["n"]["unique"] is True
    assert "unique" not in columns["x"] and "unique" not in columns["few"]
    assert infer_schema(frame.head(10))["columns"]["id"].get("unique") is None
    assert infer_schema(frame, max_allowed=1)["columns"]["few"].get("allowed") is None
