"""Interpretation: contributions that add up to the model's output, mapped back to input
columns; permutation importance and partial dependence against scikit-learn; the explain
stage end to end and mlconf.explain on a loaded model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import CARS, FAST, csv_data, run_train
from omegaconf import OmegaConf

import mlconf
from mlconf.config import FeaturesConfig, ModelConfig
from mlconf.core.errors import MlconfError
from mlconf.ml.interpret.contributions import BIAS, OTHER, OUTPUT, explain_rows, feature_sources
from mlconf.ml.interpret.importance import metric_scorer, partial_dependence, permutation_importance
from mlconf.ml.pipeline import build_pipeline
from mlconf.runner import RunResult


def features(name: str, **extra: object) -> FeaturesConfig:
    node = OmegaConf.merge(
        OmegaConf.structured(FeaturesConfig),
        OmegaConf.load(Path(__file__).parents[1] / "conf" / "features" / f"{name}.yaml"),
        extra,
    )
    obj = OmegaConf.to_object(node)
    assert isinstance(obj, FeaturesConfig)
    return obj


def cars() -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(CARS).drop(columns=["Name"])
    return frame.drop(columns=["Origin"]), frame["Origin"]


def fitted(
    feature_set: str, model: str, task: str, x: pd.DataFrame, y: np.ndarray, **extra: object
) -> Any:
    params = {"n_estimators": 25, "n_jobs": 1} if model == "xgboost" else {}
    pipeline = build_pipeline(
        features(feature_set, **extra), ModelConfig(name=model, params=params), task=task
    )
    return pipeline.fit(x, y)


# --- exact TreeSHAP: contributions + bias == the model's margin ---------------------------------


@pytest.mark.parametrize("feature_set", ["basic", "native"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_tree_contributions_add_up_to_the_margin(feature_set: str, kind: str) -> None:
    x, origin = cars()
    task = "regression" if kind == "regression" else "classification"
    if kind == "binary":
        y = (origin == "USA").to_numpy(dtype=int)
        classes = ["other", "USA"]
    elif kind == "multiclass":
        classes = sorted(origin.unique())
        y = origin.map({c: i for i, c in enumerate(classes)}).to_numpy()
    else:
        x, y, classes = x.drop(columns=["Weight_in_lbs"]), x["Weight_in_lbs"].to_numpy(float), []
    pipeline = fitted(feature_set, "xgboost", task, x, y)
    rows = x.iloc[::7]
    frame = explain_rows(
        pipeline, rows, task=task, columns=list(x.columns), classes=classes, background=x
    )
    margin = pipeline[-1].predict(pipeline[:-1].transform(rows), output_margin=True)
    if kind == "multiclass":  # explained: each row's predicted class
        margin = margin[np.arange(len(rows)), pipeline.predict(rows)]
    named = [c for c in frame.columns if not c.startswith("_")]
    assert named == list(x.columns)  # one column per input column, none per one-hot level
    np.testing.assert_allclose(frame[named].sum(axis=1) + frame[BIAS], margin, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(frame[OUTPUT], margin, rtol=1e-5, atol=1e-4)
    assert frame.attrs == {"method": "tree", "units": "margin"}
    assert list(frame.index) == list(rows.index)


def test_one_hot_levels_map_back_to_their_column() -> None:
    x, origin = cars()
    pipeline = fitted("basic", "xgboost", "classification", x, (origin == "USA").to_numpy(int))
    sources = feature_sources(pipeline, x, list(x.columns))
    make = [f for f, cols in sources.items() if cols == ["Make"]]
    assert len(make) > 10  # one feature per level
    assert all(f.startswith("categorical__Make") for f in make)
    assert sources["numeric__Horsepower"] == ["Horsepower"]


def test_a_derived_feature_is_shared_between_its_columns() -> None:
    x, origin = cars()
    y = (origin == "USA").to_numpy(int)
    pipeline = fitted(
        "basic",
        "xgboost",
        "classification",
        x,
        y,
        derived={"power_to_weight": "Horsepower / Weight_in_lbs"},
    )
    columns = list(x.columns)
    sources = feature_sources(pipeline, x, columns)
    assert sorted(sources["numeric__power_to_weight"]) == ["Horsepower", "Weight_in_lbs"]
    frame = explain_rows(
        pipeline, x.head(30), task="classification", columns=columns, classes=[0, 1]
    )
    margin = pipeline[-1].predict(pipeline[:-1].transform(x.head(30)), output_margin=True)
    np.testing.assert_allclose(frame[OUTPUT], margin, rtol=1e-5, atol=1e-4)
    assert OTHER not in frame.columns


def test_a_feature_constant_in_the_sample_is_matched_by_name() -> None:
    x, origin = cars()
    x = x.assign(Constant=1.0)
    pipeline = fitted("basic", "xgboost", "classification", x, (origin == "USA").to_numpy(int))
    sources = feature_sources(pipeline, x, list(x.columns))
    assert sources["numeric__Constant"] == ["Constant"]


# --- sampled Shapley values for any model -------------------------------------------------------


def synthetic(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """y depends on `signal` only; `noise` and `level` are irrelevant."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "level": rng.choice(["a", "b", "c"], size=n),
        }
    )
    y = (x["signal"] + 0.1 * rng.normal(size=n) > 0).to_numpy(int)
    return x, y


def test_sampled_contributions_add_up_and_find_the_signal() -> None:
    x, y = synthetic()
    pipeline = fitted("basic", "logistic", "classification", x, y)
    rows = x.head(25)
    frame = explain_rows(
        pipeline,
        rows,
        task="classification",
        columns=list(x.columns),
        classes=[0, 1],
        background=x.tail(100),
        samples=16,
    )
    proba = pipeline.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(frame[OUTPUT], proba, atol=1e-9)
    np.testing.assert_allclose(frame[["signal", "noise", "level"]].sum(axis=1) + frame[BIAS], proba)
    assert frame[BIAS].nunique() == 1  # the same background rows for every row
    mean_abs = frame[["signal", "noise", "level"]].abs().mean()
    assert mean_abs.idxmax() == "signal"
    assert frame.attrs == {"method": "sampled", "units": "probability"}


def test_sampled_contributions_for_regression_and_a_named_class() -> None:
    x, y = synthetic()
    pipeline = fitted("basic", "ridge", "regression", x, x["signal"].to_numpy() * 3)
    frame = explain_rows(
        pipeline, x.head(5), task="regression", columns=list(x.columns), classes=[], samples=8
    )
    np.testing.assert_allclose(frame[OUTPUT], pipeline.predict(x.head(5)), atol=1e-9)
    classifier = fitted("basic", "logistic", "classification", x, y)
    negative = explain_rows(
        classifier,
        x.head(5),
        task="classification",
        columns=list(x.columns),
        classes=["no", "yes"],
        explained_class="no",
        samples=8,
    )
    np.testing.assert_allclose(negative[OUTPUT], classifier.predict_proba(x.head(5))[:, 0])
    assert set(negative["_class"]) == {"no"}
    with pytest.raises(MlconfError, match="not one of the model's classes"):
        explain_rows(
            classifier,
            x.head(5),
            task="classification",
            columns=list(x.columns),
            classes=["no", "yes"],
            explained_class="maybe",
        )
    with pytest.raises(MlconfError, match="need an xgboost model"):
        explain_rows(
            classifier,
            x.head(5),
            task="classification",
            columns=list(x.columns),
            classes=[0, 1],
            method="tree",
        )


# --- permutation importance and partial dependence ----------------------------------------------


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy", "log_loss"])
def test_permutation_importance_finds_the_informative_column(metric: str) -> None:
    from sklearn.inspection import permutation_importance as sklearn_importance

    x, y = synthetic()
    pipeline = fitted("basic", "logistic", "classification", x, y)
    rows = permutation_importance(
        pipeline, x, y, metric=metric, task="classification", labels=[0, 1], n_repeats=4, seed=7
    )
    assert rows[0]["feature"] == "signal"
    assert rows[0]["mean"] > 0.05
    assert all(abs(r["mean"]) < 0.05 for r in rows[1:])
    # The same shuffles as scikit-learn's, so the same numbers.
    scorer, _ = metric_scorer(metric, "classification", [0, 1])
    reference = sklearn_importance(
        pipeline,
        x,
        y,
        scoring=lambda est, xx, yy: scorer(yy, est.predict(xx), est.predict_proba(xx)),
        n_repeats=4,
        random_state=7,
    )
    expected = dict(zip(x.columns, reference.importances_mean, strict=True))
    for row in rows:
        assert row["mean"] == pytest.approx(expected[row["feature"]], abs=1e-12)


def test_partial_dependence_matches_scikit_learn() -> None:
    from sklearn.inspection import partial_dependence as sklearn_partial

    x, y = synthetic()
    pipeline = fitted("basic", "logistic", "classification", x, y)
    curve = partial_dependence(
        pipeline, x, "signal", task="classification", resolution=10, ice_rows=1000, seed=0
    )
    assert curve is not None
    reference = sklearn_partial(
        pipeline, x, ["signal"], custom_values={"signal": np.asarray(curve["grid"])}
    )
    np.testing.assert_allclose(curve["average"], reference["average"], atol=1e-9)
    levels = partial_dependence(
        pipeline, x, "level", task="classification", resolution=10, ice_rows=50, seed=0
    )
    assert levels is not None and levels["categorical"]
    assert sorted(levels["grid"]) == ["a", "b", "c"]
    assert levels["individual"].shape == (1, 50, 3)
    counts = x.assign(count=pd.array(np.arange(len(x)) % 7, dtype="Int64"))
    pipeline = fitted("basic", "logistic", "classification", counts, y)
    integer = partial_dependence(
        pipeline, counts, "count", task="classification", resolution=10, ice_rows=50, seed=0
    )  # a nullable integer column (as a schema's Int64 makes it)
    assert integer is not None and integer["grid"] == [0, 1, 2, 3, 4, 5, 6]
    constant = partial_dependence(
        pipeline, x.assign(signal=1.0), "signal", task="classification", resolution=10,
        ice_rows=50, seed=0,
    )  # fmt: skip
    assert constant is None


# --- the stage and the public function ----------------------------------------------------------


@pytest.fixture(scope="module")
def cars_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_train(
        # the data profile's plots are not looked at here; interpretation is
        ["experiment=cars", *FAST, "explain.n_repeats=2", "explain.top_k=8", "explore.plots=false"],
        tmp_path_factory.mktemp("explain") / "run",
    )


def test_interpretation_json_and_plots(cars_run: RunResult) -> None:
    from PIL import Image

    doc = json.loads((cars_run.run_dir / "interpretation.json").read_text())
    assert doc["part"] == "validation"
    assert doc["metric"] == "balanced_accuracy"
    features_seen = {r["feature"] for r in doc["permutation_importance"]}
    assert "Make" in features_seen and not any("__" in f for f in features_seen)
    assert doc["shap"]["available"] and doc["shap"]["exact"]
    assert doc["shap"]["explained"] == "the log-odds of each row's predicted class"
    assert {r["feature"] for r in doc["shap"]["mean_abs"]} == features_seen
    assert len(doc["partial_dependence"]) == 8  # every column, each dtype
    assert doc["plots"]
    fairness = json.loads((cars_run.run_dir / "fairness.json").read_text())
    assert fairness["configured"] is False  # the default: no sensitive attributes
    for plot in doc["plots"]:
        path = cars_run.run_dir / plot["path"]
        assert path.parent.name == "explain"
        assert plot["title"] and plot["caption"]
        with Image.open(path) as image:
            assert 0 < image.width <= 900 and image.height > 0


def test_mlconf_explain_on_a_loaded_model(cars_run: RunResult) -> None:
    model = mlconf.load_model(cars_run.run_dir / "model")
    assert model.background is not None and len(model.background) == 100
    assert model.manifest["explain"]["feature_sources"]
    rows = pd.read_csv(CARS).head(4)  # extra columns (Name, Origin) are ignored
    frame = mlconf.explain(model, rows)
    assert list(frame.columns) == [*model.input_columns, BIAS, OUTPUT, "_class"]
    assert list(frame["_class"]) == list(model.predict(rows))
    margin = model.pipeline[-1].predict(
        model.pipeline[:-1].transform(rows[model.input_columns]), output_margin=True
    )
    picked = margin[np.arange(4), model.pipeline.predict(rows[model.input_columns])]
    np.testing.assert_allclose(frame[OUTPUT], picked, atol=1e-4)
    sampled = mlconf.explain(model, rows, method="sampled", samples=8)
    proba = model.predict_proba(rows)
    assert proba is not None
    index = [model.classes.index(c) for c in sampled["_class"]]
    np.testing.assert_allclose(sampled[OUTPUT], proba[np.arange(4), index], atol=1e-9)
    with pytest.raises(MlconfError, match="Horsepower"):
        mlconf.explain(model, rows.drop(columns=["Horsepower"]))


def test_explain_off_and_a_model_without_trees(tmp_path: Path) -> None:
    x, y = synthetic(200)
    path = tmp_path / "data.csv"
    x.assign(target=y).to_csv(path, index=False)
    data = [
        *csv_data(path),
        "problem.target=target",
        "problem.positive_class=1",
        "metrics.bootstrap=0",
        "explore.plots=false",
    ]
    result = run_train(
        [*data, "model=logistic", "explain.sampled_rows=10", "explain.top_k=1"],
        tmp_path / "logistic",
    )
    doc = json.loads((result.run_dir / "interpretation.json").read_text())
    assert doc["permutation_importance"][0]["feature"] == "signal"
    assert doc["shap"]["method"] == "sampled" and doc["shap"]["rows"] == 10
    assert doc["shap"]["mean_abs"][0]["feature"] == "signal"
    # what explain writes needs only the stages before it
    data.append("stages=[load,validate,prepare,split,train,evaluate,explain]")
    # only the contributions' record is looked at: one shuffle, one dependence curve
    quick = ["explain.n_repeats=1", "explain.top_k=1"]
    off = run_train([*data, *quick, "model=logistic", "explain.shap=xgboost"], tmp_path / "off")
    doc = json.loads((off.run_dir / "interpretation.json").read_text())
    assert doc["shap"] == {"available": False, "reason": "the model is not xgboost"}
    disabled = run_train([*data, "model=logistic", "explain.enabled=false"], tmp_path / "no")
    assert json.loads((disabled.run_dir / "interpretation.json").read_text())["enabled"] is False
    with pytest.raises(MlconfError, match=r"explain.shap"):
        run_train([*data, "explain.shap=tree"], tmp_path / "bad")
