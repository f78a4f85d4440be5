"""`mlconf models export NAME@ALIAS --format mlflow|onnx`: an MLflow pyfunc that MLflow loads
and that answers in labels, an ONNX model run back through onnxruntime, and a refusal that
names the step ONNX cannot convert."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_train
from sklearn.pipeline import Pipeline

import mlconf
from mlconf.cli.models import main as models_main
from mlconf.core.errors import MlconfError
from mlconf.store.artifacts import TrainedModel

mlflow = pytest.importorskip("mlflow")
ort = pytest.importorskip("onnxruntime")

STAGES = "stages=[load,validate,prepare,split,train,evaluate,save,register]"


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, TrainedModel]:
    """A breast_cancer model registered as breast_cancer@candidate; the registry URL."""
    folder = tmp_path_factory.mktemp("export")
    url = f"sqlite:///{folder / 'mlconf.db'}"
    result = run_train(
        [
            "model.params.n_estimators=10",
            "metrics.bootstrap=0",
            f"deploy.registry_url={url}",
            STAGES,
        ],
        folder / "run",
    )
    assert result.model_dir is not None
    return url, mlconf.load_model(result.model_dir)


def _rows() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.drop(columns="target").head(60)


def _export(url: str, fmt: str, target: Path) -> Path:
    """`mlconf models export breast_cancer@candidate TARGET --format FMT`."""
    args = ["export", "breast_cancer@candidate", str(target), "--format", fmt]
    assert models_main([*args, f"--registry-url={url}"]) == 0
    return target


def test_mlflow_export_loads_in_mlflow_and_returns_labels(
    registered: tuple[str, TrainedModel], tmp_path: Path
) -> None:
    url, model = registered
    target = _export(url, "mlflow", tmp_path / "pyfunc")
    loaded = mlflow.pyfunc.load_model(str(target))
    rows = _rows()
    out = loaded.predict(rows)
    assert list(out.columns) == ["prediction"]
    assert list(out["prediction"]) == list(model.predict(rows))
    with_proba = loaded.predict(rows, params={"proba": True})
    assert list(with_proba.columns) == ["prediction", "proba_benign", "proba_malignant"]
    np.testing.assert_allclose(
        with_proba[["proba_benign", "proba_malignant"]].to_numpy(), model.predict_proba(rows)
    )
    # the signature comes from the schema: every input column with its training type
    signature = loaded.metadata.get_input_schema()
    assert signature.input_names() == model.input_columns
    assert {str(t) for t in signature.input_types()} == {"DataType.double"}
    # loaded from code: nothing pickled
    assert not list(target.rglob("*.pkl"))


def test_onnx_export_answers_in_labels_like_the_pipeline(
    registered: tuple[str, TrainedModel], tmp_path: Path
) -> None:
    url, model = registered
    target = _export(url, "onnx", tmp_path / "onnx")
    about = json.loads((target / "onnx.json").read_text())
    assert about["check"]["reference_rows"] > 0
    assert about["check"]["share_that_differs"] == 0
    session = ort.InferenceSession(str(target / "model.onnx"), providers=["CPUExecutionProvider"])
    rows = _rows()
    feeds = {
        name: rows[[spec["column"]]].to_numpy(dtype=np.float64)
        for name, spec in about["inputs"].items()
    }
    assert {spec["type"] for spec in about["inputs"].values()} == {"tensor(double)"}
    labels, proba = session.run(None, feeds)
    assert set(labels) <= {"benign", "malignant"}
    # the feature steps run in double, the trees in float32 as xgboost does: the same answers
    assert list(labels) == list(model.predict(rows))
    np.testing.assert_allclose(proba, model.predict_proba(rows), atol=1e-6)
    assert about["check"]["rows_whose_probabilities_differ"] == 0
    assert proba.shape == (len(rows), 2)


def test_onnx_export_refuses_a_step_without_a_converter_and_names_it(
    registered: tuple[str, TrainedModel],
) -> None:
    from mlconf.components.transforms import log
    from mlconf.deploy.export_onnx import convert

    _, model = registered
    assert model.background is not None
    step = log().fit(model.background)
    unconvertible = replace(model, pipeline=Pipeline([("log", step), *model.pipeline.steps]))
    with pytest.raises(MlconfError) as caught:
        convert(unconvertible)
    text = caught.value.render()
    assert "the step 'log' (mlconf.components.transformers.numeric.SignedLog1p)" in text
    assert "--format mlflow" in text


def test_export_arguments_old_and_new(registered: tuple[str, TrainedModel], tmp_path: Path) -> None:
    url, _ = registered
    with pytest.raises(MlconfError, match="too many arguments"):
        models_main(["export", "breast_cancer@candidate", "a", "b", f"--registry-url={url}"])
    # NAME VERSION DIR, as before
    assert (
        models_main(["export", "breast_cancer", "1", str(tmp_path / "b"), f"--registry-url={url}"])
        == 0
    )
    assert (tmp_path / "b" / "model" / "manifest.json").is_file()


@pytest.mark.slow
def test_onnx_export_of_text_and_nullable_integer_columns(tmp_path: Path) -> None:
    """cars: a text column with missing values, nullable integers, three string classes."""
    from mlconf.deploy.export_onnx import export_onnx, feeds

    overrides = ["experiment=cars", "model.params.n_estimators=10", "metrics.bootstrap=0"]
    result = run_train([*overrides, STAGES.replace(",register", "")], tmp_path / "run")
    assert result.model_dir is not None
    model = mlconf.load_model(result.model_dir)
    about = json.loads((export_onnx(model, tmp_path / "onnx") / "onnx.json").read_text())
    types = {spec["column"]: spec["type"] for spec in about["inputs"].values()}
    assert types["Make"] == "tensor(string)" and types["Year"] == "tensor(double)"
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    rows = model.background
    assert rows is not None
    rows = rows.copy()
    rows.loc[rows.index[:3], "Make"] = None  # missing text: fed as ""
    labels, _ = session.run(None, feeds(session, model, rows))
    assert list(labels) == list(model.predict(rows))
