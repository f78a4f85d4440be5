"""A small world for the monitoring tests: rows whose label follows one rule, a switch that
changes the rule ("the world changed"), logged predictions and feedback in a real
prediction log, and a champion trained on the old world and promoted to production."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from helpers import FAST, csv_data, quiet_console, run_train

from mlconf.store.model_registry import ModelRegistry
from mlconf.store.prediction_log import PredictionLog, new_row

STAGES = "stages=[load,validate,prepare,split,train,evaluate,save,register]"
SYNTHETIC = [
    "problem.target=y",
    "problem.positive_class=yes",
    "problem.primary_metric=accuracy",
    "problem.success_criteria.roc_auc.min=0.5",
    "problem.success_criteria.recall.min=0.5",
    "problem.threshold.optimize=none",
]


def world(n: int, *, changed: bool, seed: int) -> pd.DataFrame:
    """x1, x2 numeric, group a/b; y is 'yes' when x1 > 0 (old world) or x2 > 0 (changed)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n).round(4),
            "x2": rng.normal(size=n).round(4),
            "group": rng.choice(["a", "b"], size=n),
        }
    )
    driver = frame["x2"] if changed else frame["x1"]
    frame["y"] = np.where(driver > 0, "yes", "no")
    return frame


def train_champion(tmp_path: Path, rows: int = 300) -> tuple[ModelRegistry, Any]:
    """Train on the old world, register it, promote it to production."""
    data = tmp_path / "world.csv"
    world(rows, changed=False, seed=1).to_csv(data, index=False)
    url = f"sqlite:///{tmp_path}/mlconf.db"
    overrides = [*FAST, STAGES, *csv_data(data, name="world"), *SYNTHETIC]
    result = run_train(
        [*overrides, f"deploy.registry_url={url}"], tmp_path / "runs" / "champion", quiet_console()
    )
    registry = ModelRegistry(url)
    version = registry.resolve("world@candidate")
    registry.promote("world", version.version, "production")
    return registry, result


def log_rows(
    registry: ModelRegistry,
    rows: list[dict[str, Any]],
    *,
    model: str = "world",
    version: str = "1",
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=1),
) -> list[str]:
    """Write predictions (inputs, outputs, latency) with created_at start, start+step, ..."""
    plog = PredictionLog(registry.url)  # its own engine: close() disposes it
    start = start or datetime.now(UTC) - step * len(rows)
    ids = []
    batch = []
    for i, row in enumerate(rows):
        pid = str(uuid.uuid4())
        ids.append(pid)
        entry = new_row(pid, model, version, row["inputs"], row["outputs"], row.get("latency", 5.0))
        entry["created_at"] = start + step * i
        batch.append(entry)
    plog.submit(batch)
    assert plog.flush()
    plog.close()
    return ids


def serve_world(
    registry: ModelRegistry, frame: pd.DataFrame, ref: str = "world@production", **kw: Any
) -> list[str]:
    """Predict the frame with the model as the server would, and log each prediction."""
    from mlconf.store.model_registry import open_model

    model, version = open_model(ref, registry.url)
    inputs = frame.drop(columns=["y"], errors="ignore")
    predicted = model.predict(inputs)
    proba = model.predict_proba(inputs)
    rows = []
    for i, record in enumerate(inputs.to_dict("records")):
        outputs = {"prediction": predicted[i]}
        if proba is not None:
            outputs["probabilities"] = dict(
                zip(map(str, model.classes), map(float, proba[i]), strict=True)
            )
        rows.append({"inputs": record, "outputs": outputs})
    assert version is not None
    return log_rows(registry, rows, version=str(version.version), **kw)


def give_feedback(registry: ModelRegistry, ids: list[str], outcomes: list[Any]) -> None:
    plog = PredictionLog(registry.url)  # its own engine: close() disposes it
    for pid, outcome in zip(ids, outcomes, strict=True):
        plog.add_feedback(pid, outcome)
    plog.close()
