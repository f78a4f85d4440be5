"""Model artifacts: skops + sha256 manifest round trips, refuses tampered or foreign files;
atomic writes leave either the whole result or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from helpers import run_train
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import mlconf
from mlconf.core.errors import MlconfError
from mlconf.store.artifacts import (
    MANIFEST_FILE,
    PIPELINE_FILE,
    TrainedModel,
    load_model,
    save_model,
    sha256_file,
)
from mlconf.store.atomic import atomic_dir, write_json, write_text, write_with


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    y = (x["a"] + 0.3 * rng.normal(size=80) > 0).astype(int).to_numpy()
    return x, y


def trained(pipeline: Pipeline, data: tuple[pd.DataFrame, np.ndarray]) -> TrainedModel:
    x, y = data
    return TrainedModel(
        pipeline=pipeline.fit(x, y),
        task="classification",
        target="label",
        input_columns=["a", "b"],
        classes=["no", "yes"],
    )


@pytest.fixture
def model(data: tuple[pd.DataFrame, np.ndarray]) -> TrainedModel:
    scale = ColumnTransformer([("num", StandardScaler(), ["a", "b"])])
    return trained(Pipeline([("features", scale), ("model", LogisticRegression())]), data)


@pytest.fixture
def saved(model: TrainedModel, tmp_path: Path) -> Path:
    return save_model(model, tmp_path / "model", extra={"experiment": "unit"})


# --- round trip -------------------------------------------------------------------------------


def test_save_load_round_trip_predicts_the_same(
    model: TrainedModel, saved: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, _ = data
    loaded = load_model(saved)
    assert loaded.task == "classification"
    assert loaded.target == "label"
    assert loaded.input_columns == ["a", "b"]
    assert loaded.classes == ["no", "yes"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x))
    assert set(loaded.predict(x)) <= {"no", "yes"}
    assert loaded.manifest["experiment"] == "unit"


def test_manifest_records_the_pipeline_hash(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert manifest["format"] == "mlconf-model/1"
    assert manifest["files"] == {PIPELINE_FILE: sha256_file(saved / PIPELINE_FILE)}
    assert sorted(p.name for p in saved.iterdir()) == sorted([MANIFEST_FILE, PIPELINE_FILE])


def test_load_accepts_the_manifest_or_pipeline_file_path(saved: Path) -> None:
    assert load_model(saved / MANIFEST_FILE).input_columns == ["a", "b"]
    assert load_model(saved / PIPELINE_FILE).input_columns == ["a", "b"]


def test_extra_input_columns_are_ignored_missing_ones_named(
    saved: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, _ = data
    loaded = load_model(saved)
    reordered = x.assign(extra="ignored")[["extra", "b", "a"]]
    np.testing.assert_array_equal(loaded.predict(reordered), loaded.predict(x))
    with pytest.raises(MlconfError, match="input lacks the column"):
        loaded.predict(x[["a"]])


def test_runner_model_round_trip(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    result = run_train(["model.params.n_estimators=10", "metrics.bootstrap=0"], tmp_path / "run")
    assert result.model_dir == tmp_path / "run" / "model"
    frame = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    loaded = mlconf.load_model(result.model_dir)
    assert loaded.classes == ["benign", "malignant"]
    again = mlconf.load_model(result.model_dir)
    np.testing.assert_array_equal(loaded.predict(frame), again.predict(frame))
    proba = loaded.predict_proba(frame)
    assert proba is not None
    assert proba.shape == (len(frame), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the pipeline in the file is the one that was evaluated: same test predictions
    manifest = loaded.manifest
    assert manifest["experiment"] == "breast_cancer"
    assert manifest["model"]["name"] == "xgboost"
    assert manifest["data"]["main"]["kind"] == "sklearn"


# --- refusing tampered or foreign files -------------------------------------------------------


def test_one_flipped_byte_is_refused(saved: Path) -> None:
    path = saved / PIPELINE_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(MlconfError) as info:
        load_model(saved)
    message = str(info.value)
    assert "sha256" in message
    assert "does not match its manifest" in message


def test_manifest_pointing_to_a_missing_file(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    manifest["files"]["calibration.skops"] = "0" * 64
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(MlconfError, match=r"calibration.skops is missing"):
        load_model(saved)


def test_deleted_pipeline_file(saved: Path) -> None:
    (saved / PIPELINE_FILE).unlink()
    with pytest.raises(MlconfError, match=r"pipeline.skops is missing"):
        load_model(saved)


def test_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(MlconfError, match="is not a model folder"):
        load_model(tmp_path)


def test_manifest_that_is_not_json(saved: Path) -> None:
    (saved / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(MlconfError, match="is not valid JSON"):
        load_model(saved)


def test_manifest_of_another_format(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    manifest["format"] = "pickle/0"
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(MlconfError, match="expected 'mlconf-model/1'"):
        load_model(saved)


def untrusted_pipelines() -> list[tuple[str, Callable[[], Pipeline]]]:
    return [
        ("os.system", lambda: make_pipeline(FunctionTransformer(os.system), LogisticRegression())),
        (
            "lambda",
            lambda: make_pipeline(FunctionTransformer(lambda v: v * 2), LogisticRegression()),
        ),
    ]


@pytest.mark.parametrize(("label", "make"), untrusted_pipelines())
def test_save_refuses_untrusted_types(
    label: str, make: Callable[[], Pipeline], tmp_path: Path
) -> None:
    pipeline = make()
    model = TrainedModel(pipeline=pipeline, task="classification", target="y", input_columns=[])
    with pytest.raises(MlconfError) as info:
        save_model(model, tmp_path / "model")
    assert "could not be loaded safely" in str(info.value)
    assert not (tmp_path / "model").exists()
    assert list(tmp_path.iterdir()) == [], "no partial model folder"


def handcrafted(folder: Path, pipeline: Pipeline) -> Path:
    """A model folder written by hand, with a manifest whose hashes are right."""
    folder.mkdir()
    (folder / PIPELINE_FILE).write_bytes(sio.dumps(pipeline))
    manifest = {
        "format": "mlconf-model/1",
        "task": "classification",
        "target": "y",
        "classes": [0, 1],
        "input_columns": ["a"],
        "plugins": [],
        "plugin_types": [],
        "files": {PIPELINE_FILE: sha256_file(folder / PIPELINE_FILE)},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return folder


def test_load_refuses_a_handcrafted_file_with_an_untrusted_type(tmp_path: Path) -> None:
    pipeline = make_pipeline(FunctionTransformer(os.system), LogisticRegression())
    folder = handcrafted(tmp_path / "evil", pipeline)
    with pytest.raises(MlconfError) as info:
        load_model(folder)
    assert "contains types that are not trusted: posix.system" in str(info.value)


@pytest.mark.parametrize("plugins", [[], ["posix"]], ids=["no-plugins", "stdlib-as-plugin"])
def test_load_refuses_foreign_types_listed_in_the_manifest(
    tmp_path: Path, plugins: list[str]
) -> None:
    """A manifest must not be able to widen the allow-list to arbitrary functions."""
    pipeline = make_pipeline(FunctionTransformer(os.system), LogisticRegression())
    folder = handcrafted(tmp_path / "evil", pipeline)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["plugins"] = plugins
    manifest["plugin_types"] = ["posix.system"]
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(MlconfError, match="not trusted"):
        load_model(folder)  # only loads; nothing is predicted, so nothing is executed


def test_flipped_byte_error_names_the_file(saved: Path) -> None:
    path = saved / PIPELINE_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(MlconfError) as info:
        load_model(saved)
    assert str(path) in str(info.value)
    assert "changed after training" in str(info.value)


def test_manifest_swapped_from_another_model_is_refused(
    data: tuple[pd.DataFrame, np.ndarray], saved: Path, tmp_path: Path
) -> None:
    """Another model's manifest is valid on its own, but its digests name other files."""
    weaker = make_pipeline(StandardScaler(), LogisticRegression(C=0.01))
    other = save_model(trained(weaker, data), tmp_path / "other")
    (saved / MANIFEST_FILE).write_bytes((other / MANIFEST_FILE).read_bytes())
    with pytest.raises(MlconfError) as info:
        load_model(saved)
    message = str(info.value)
    assert str(saved / PIPELINE_FILE) in message
    assert "does not match its manifest" in message


def test_load_refuses_a_class_from_a_module_that_registers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """A custom class with a right digest, even listed as a plugin type, is not trusted
    unless its module registered mlconf components: the manifest is data, not authority."""
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    module = f"unregistered_{os.getpid()}"
    (code_dir / f"{module}.py").write_text(
        "from sklearn.base import BaseEstimator, TransformerMixin\n\n"
        "class Sneaky(TransformerMixin, BaseEstimator):\n"
        "    def fit(self, X, y=None):\n        return self\n\n"
        "    def transform(self, X):\n        return X\n"
    )
    monkeypatch.syspath_prepend(str(code_dir))
    sneaky = __import__(module).Sneaky
    x, y = data
    pipeline = make_pipeline(sneaky(), LogisticRegression()).fit(x[["a"]], y)
    folder = handcrafted(tmp_path / "foreign", pipeline)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["plugins"] = [module]
    manifest["plugin_types"] = [f"{module}.Sneaky"]
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(MlconfError) as info:
        load_model(folder)
    message = str(info.value)
    assert str(folder / PIPELINE_FILE) in message
    assert f"not trusted: {module}.Sneaky" in message


def test_plugin_classes_are_saved_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    module = f"artifact_plugin_{os.getpid()}"
    (plugin_dir / f"{module}.py").write_text(
        "from sklearn.base import BaseEstimator, TransformerMixin\n"
        "from mlconf import register\n\n"
        "class Double(TransformerMixin, BaseEstimator):\n"
        "    def fit(self, X, y=None):\n        return self\n\n"
        "    def transform(self, X):\n        return X * 2\n\n"
        f"@register('transform', 'double_{os.getpid()}')\n"
        "def double():\n    return Double()\n"
    )
    monkeypatch.syspath_prepend(str(plugin_dir))
    plugin = __import__(module)
    model = trained(make_pipeline(plugin.Double(), LogisticRegression()), data)
    with pytest.raises(MlconfError, match=f"{module}.Double"):
        save_model(model, tmp_path / "refused")
    folder = save_model(model, tmp_path / "model", plugins=[module])
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert manifest["plugins"] == [module]
    assert manifest["plugin_types"] == [f"{module}.Double"]
    x, _ = data
    np.testing.assert_array_equal(load_model(folder).predict(x), model.predict(x))


# --- atomic writes ----------------------------------------------------------------------------


def failing_writer(path: Path) -> None:
    path.write_text("half a fi")
    raise RuntimeError("disk full")


def test_failing_writer_leaves_no_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(RuntimeError, match="disk full"):
        write_with(target, failing_writer)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_failing_writer_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old,complete\n")
    with pytest.raises(RuntimeError):
        write_with(target, failing_writer)
    assert target.read_text() == "old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_write_helpers_publish_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    write_text(target, "first")
    write_text(target, "second é")
    assert target.read_text(encoding="utf-8") == "second é"
    write_json(tmp_path / "n.json", {"a": np.int64(3), "b": np.array([1.5]), "c": {1, 2}})
    assert json.loads((tmp_path / "n.json").read_text()) == {"a": 3, "b": [1.5], "c": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.json", "note.txt"]


def test_atomic_dir_leaves_no_partial_folder_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.bin").write_bytes(b"x")
        raise RuntimeError("crash in the middle")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_keeps_the_old_folder_on_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("crash")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_dir_replaces_the_folder_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        assert not (target / "new.txt").exists()
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_model_saved_before_its_classes_moved_still_loads(tmp_path: Path) -> None:
    """Saved pipelines name their classes by module path; a class whose module moved (the
    PII guard went from mlconf.privacy.guard to the components) still loads by its old one."""
    import json
    import zipfile

    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    from mlconf.components.pii_guard import PiiGuard
    from mlconf.store.artifacts import TrainedModel, load_model, save_model, sha256_file

    frame = pd.DataFrame({"email": ["a@x.io", "b@y.io", "c@z.io"], "x": [1.0, 2.0, 3.0]})
    pipeline = make_pipeline(PiiGuard(drop_columns=["email"]), LinearRegression())
    pipeline.fit(frame, [1.0, 2.0, 3.0])
    model = TrainedModel(pipeline=pipeline, task="regression", target="y", input_columns=["x"])
    folder = save_model(model, tmp_path / "model")
    skops_file = folder / "pipeline.skops"
    rewritten = tmp_path / "old.skops"
    with zipfile.ZipFile(skops_file) as source, zipfile.ZipFile(rewritten, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                text = content.decode().replace(
                    "mlconf.components.pii_guard", "mlconf.privacy.guard"
                )
                assert "mlconf.privacy.guard" in text
                content = text.encode()
            target.writestr(item, content)
    rewritten.replace(skops_file)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["pipeline.skops"] = sha256_file(skops_file)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_model(folder)
    assert type(loaded.pipeline[0]).__name__ == "PiiGuard"
    assert list(loaded.pipeline.predict(frame)) == list(pipeline.predict(frame))


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_written_files_and_folders_follow_the_umask(
    tmp_path: Path, umask: int, file_mode: int, dir_mode: int
) -> None:
    import os

    from mlconf.store.atomic import atomic_dir, current_umask, write_text

    old = os.umask(umask)
    try:
        assert current_umask() == umask
        write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "folder") as folder:
            (folder / "f").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == file_mode
    assert (tmp_path / "folder").stat().st_mode & 0o777 == dir_mode
