"""The saved pipeline answers in labels outside mlconf; mlconf scores exactly as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from helpers import run_train
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mlconf
from mlconf.deploy.scoring import score
from mlconf.ml.labelled import LabelledClassifier, with_labels
from mlconf.store.artifacts import PIPELINE_FILE, TrainedModel, load_model, save_model

STAGES = "stages=[load,validate,prepare,split,train,evaluate,save]"


def _outside_mlconf(model_dir: Path) -> object:
    """The pipeline file as a user loads it with skops, without mlconf's loader."""
    data = (model_dir / PIPELINE_FILE).read_bytes()
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


@pytest.fixture(scope="module")
def breast_cancer_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("labels") / "run"
    result = run_train(["model.params.n_estimators=10", "metrics.bootstrap=0", STAGES], folder)
    assert result.model_dir is not None
    return result.model_dir


def _rows() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.drop(columns="target")


def test_the_saved_pipeline_predicts_labels_and_orders_probabilities_by_classes_(
    breast_cancer_run: Path,
) -> None:
    rows = _rows()
    pipeline = _outside_mlconf(breast_cancer_run)
    model = mlconf.load_model(breast_cancer_run)
    predicted = pipeline.predict(rows[model.input_columns])  # type: ignore[attr-defined]
    assert set(predicted) == {"benign", "malignant"}
    assert list(pipeline.classes_) == ["benign", "malignant"]  # type: ignore[attr-defined]
    # the same answers as mlconf's own decoding, the same probabilities
    np.testing.assert_array_equal(predicted, model.predict(rows))
    proba = pipeline.predict_proba(rows[model.input_columns])  # type: ignore[attr-defined]
    np.testing.assert_allclose(proba, model.predict_proba(rows))


def test_mlconf_still_scores_with_the_codes(breast_cancer_run: Path) -> None:
    rows = _rows()
    model = mlconf.load_model(breast_cancer_run)
    last = model.pipeline.steps[-1][1]
    assert not getattr(last, "decodes_class_codes", False)
    assert set(np.asarray(model.pipeline.predict(rows[model.input_columns]))) <= {0, 1}
    labels, proba = score(model, rows)
    np.testing.assert_array_equal(labels, model.predict(rows))
    assert proba is not None


def _fitted(tmp_path: Path) -> tuple[TrainedModel, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90)})
    codes = np.digitize(x["a"], [-0.5, 0.5])  # three classes
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(x, codes)
    classes = ["high", "low", "mid"]
    return TrainedModel(pipe, "classification", "y", ["a", "b"], classes=classes), x


def test_a_model_saved_before_labels_still_loads_and_predicts_the_same(tmp_path: Path) -> None:
    model, x = _fitted(tmp_path)
    old = save_model(model, tmp_path / "old")  # the code pipeline, as saved until now
    new = save_model(
        TrainedModel(**{**vars(model), "pipeline": with_labels(model.pipeline, model.classes)}),
        tmp_path / "new",
    )
    np.testing.assert_array_equal(load_model(old).predict(x), load_model(new).predict(x))
    np.testing.assert_array_equal(load_model(old).predict(x), model.predict(x))
    assert set(_outside_mlconf(new).predict(x)) == {"high", "low", "mid"}  # type: ignore[attr-defined]


def test_labelled_classifier_fits_on_labels_like_an_sklearn_classifier() -> None:
    x = pd.DataFrame({"a": [0.0, 0.1, 0.2, 5.0, 5.1, 5.2]})
    y = np.array(["no", "no", "no", "yes", "yes", "yes"], dtype=object)
    wrapped = LabelledClassifier(LogisticRegression(), classes=["no", "yes"])
    fitted = clone(wrapped).fit(x, y)
    assert list(fitted.predict(x)) == list(y)
    assert fitted.predict_proba(x).shape == (6, 2)
    assert fitted.score(x, y) == 1.0
    # a plain regression pipeline is saved as it is
    assert with_labels("pipeline", []) == "pipeline"
