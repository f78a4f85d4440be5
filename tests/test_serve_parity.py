"""What `POST /predict` answers over HTTP is what the loaded model predicts in Python.

For every task (binary and multiclass classification, regression), a trained model is served
by the real app under uvicorn on loopback. Raw rows of its data go over the wire as JSON:
keys in reverse order, NaN as null, integers as JSON integers, text as strings. The answer
must equal `model.predict` and `model.predict_proba` on the same rows read with pandas, so a
column-order, dtype or missing-value bug in turning JSON into a frame cannot pass unseen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
import httpx
import pandas as pd
from helpers import CARS, FAST, compose_train, quiet_console
from serve_helpers import SERVE_STAGES, running

import mlconf
from mlconf.config import ServeConfig
from mlconf.serve.app import create_app
from mlconf.store.artifacts import TrainedModel

ROWS = 40  # the records sent in one request


def _sklearn_frame(loader: str) -> pd.DataFrame:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)(as_frame=True).frame


# experiment -> the raw table its model is trained on
CASES = {
    "breast_cancer": lambda: _sklearn_frame("load_breast_cancer"),  # binary
    "cars": lambda: pd.read_csv(CARS),  # multiclass; text columns and missing values
    "diabetes": lambda: _sklearn_frame("load_diabetes"),  # regression
}


@pytest.fixture(scope="module", params=sorted(CASES))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TrainedModel, pd.DataFrame, str]]:
    """(the loaded model, raw rows of its data, the base URL of a server serving it)."""
    from mlconf.runner import run

    experiment = request.param
    folder = tmp_path_factory.mktemp(experiment)
    conf = compose_train(
        [f"experiment={experiment}", *FAST, SERVE_STAGES,
         f"deploy.registry_url=sqlite:///{folder / 'mlconf.db'}"]
    )  # fmt: skip
    result = run(conf, run_dir=folder / "run", console=quiet_console())
    assert result.record.status == "succeeded", result.record.error
    model_dir = folder / "run" / "model"
    model = mlconf.load_model(model_dir)
    # rows with a missing value first (cars has some), then the rest in file order
    frame = CASES[experiment]()[model.input_columns]
    frame = pd.concat([frame[frame.isna().any(axis=1)], frame[frame.notna().all(axis=1)]])
    app = create_app(str(model_dir), ServeConfig(reload_interval=None), "sqlite://")
    with running(app) as url:
        yield model, frame.head(ROWS).reset_index(drop=True), url


def as_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row as a JSON object: keys reversed, NaN -> null, numpy scalars -> Python."""
    records = []
    for row in frame.to_dict(orient="records"):
        records.append(
            {
                column: None if isinstance(value, float) and math.isnan(value) else value
                for column, value in reversed(row.items())
            }
        )
    return records


def test_predict_over_http_matches_the_model_in_python(
    served: tuple[TrainedModel, pd.DataFrame, str],
) -> None:
    model, frame, url = served
    body = as_json(frame)
    assert list(body[0]) != model.input_columns  # the order on the wire is not the model's
    response = httpx.post(f"{url}/predict", json=body, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(frame)
    predicted = [result["prediction"] for result in results]
    if model.task == "regression":
        np.testing.assert_allclose(predicted, model.predict(frame).astype(float), rtol=1e-12)
        assert all("probabilities" not in result for result in results)
        return
    assert predicted == model.predict(frame).tolist()
    expected = model.predict_proba(frame)
    assert expected is not None
    labels = [str(label) for label in model.classes]
    got = [[result["probabilities"][label] for label in labels] for result in results]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
