"""Saving and loading fitted models without pickle: skops plus a sha256 manifest.

A model folder holds `pipeline.skops` and `manifest.json`. Loading verifies every
file's sha256 against the manifest, then lets skops build only types from an
explicit allow-list (docs/architecture.md: safe artifacts): a tampered or foreign file is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core import strict_json
from mlconf.core.errors import MlconfError
from mlconf.store.atomic import atomic_dir
from mlconf.store.tables.parquet_engine import frame_bytes, read_frame

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PIPELINE_FILE = "pipeline.skops"
MANIFEST_FILE = "manifest.json"
BACKGROUND_FILE = "background.parquet"
FORMAT = "mlconf-model/1"

# Modules whose classes may be rebuilt from a model file. Functions and builtins are
# not on it: skops reports them as separate types, which are then refused.
TRUSTED_MODULE_ROOTS = ("sklearn.", "xgboost.", "mlconf.")
TRUSTED_TYPES = frozenset({"numpy.dtype", "numpy.random.mtrand.RandomState"})


@dataclass
class TrainedModel:
    """A fitted pipeline with what is needed to use it: task, labels, input columns."""

    pipeline: Any
    task: str
    target: str
    input_columns: list[str]
    classes: list[Any] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    # A sample of training rows (input columns) that mlconf.explain compares rows against.
    background: pd.DataFrame | None = None

    def _check_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise MlconfError(
                f"input lacks the column(s) the model was trained on: {', '.join(missing)}",
                fix="supply every input column (extra columns are ignored)",
            )
        return frame[self.input_columns]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions in the target's own values (class labels, not codes)."""
        return self.labels(self.pipeline.predict(self._check_columns(frame)))

    def labels(self, raw: Any) -> np.ndarray:
        """The pipeline's raw predictions in the target's own values: class codes become
        labels (a classifier), values become floats (a regression)."""
        import numpy as np

        if self.task == "classification":
            return np.asarray(self.classes, dtype=object)[np.asarray(raw, dtype=int)]
        return np.asarray(raw, dtype=float)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, columns in the order of `classes`; None if unsupported."""
        if self.task != "classification" or not hasattr(self.pipeline, "predict_proba"):
            return None
        try:
            return self.pipeline.predict_proba(self._check_columns(frame))
        except AttributeError:
            return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(
    model: TrainedModel,
    folder: Path,
    extra: dict[str, Any] | None = None,
    plugins: list[str] | tuple[str, ...] = (),
    files: dict[str, bytes | Callable[[str], bytes]] | None = None,
) -> Path:
    """Write the model folder atomically: it appears complete or not at all.

    `files` are extra data files (name -> bytes, e.g. the background sample) checked
    by the manifest's sha256 like the pipeline. A file given as a function is called
    with the pipeline's sha256 (the reference profile records which version it is for).
    """
    import skops.io as sio

    folder = Path(folder)
    data = sio.dumps(model.pipeline)
    plugin_types = _plugin_types(sio.get_untrusted_types(data=data), plugins)
    with atomic_dir(folder) as tmp:
        (tmp / PIPELINE_FILE).write_bytes(data)
        pipeline_sha256 = hashlib.sha256(data).hexdigest()
        for name, content in (files or {}).items():
            (tmp / name).write_bytes(content(pipeline_sha256) if callable(content) else content)
        manifest = {
            "format": FORMAT,
            "task": model.task,
            "target": model.target,
            "classes": list(model.classes),
            "input_columns": list(model.input_columns),
            **(extra or {}),
            "plugins": list(plugins),
            "plugin_types": plugin_types,
            "files": {name: sha256_file(tmp / name) for name in [PIPELINE_FILE, *(files or {})]},
        }
        (tmp / MANIFEST_FILE).write_text(strict_json.dumps(manifest, indent=2) + "\n")
    model.manifest = manifest
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a model folder, or an error saying the folder is not one."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise MlconfError(
            f"'{folder}' is not a model folder (no {MANIFEST_FILE})",
            fix="pass the `model/` folder of a run, e.g. experiments/<name>/runs/<run>/model",
        )
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise MlconfError(f"{manifest_path} is not valid JSON: {exc}") from exc
    return manifest


# Classes of saved pipelines whose module has moved since the model was saved: skops finds
# a class by the module path recorded in the file, so the old path must still resolve.
MOVED_MODULES = {
    "mlconf.privacy.guard": "mlconf.components.pii_guard",
    "mlconf.scale.xgboost_dask": "mlconf.components.xgboost_dask",
}


def _resolve_moved_modules(type_names: list[str]) -> None:
    import importlib
    import sys

    for old, new in MOVED_MODULES.items():
        if old not in sys.modules and any(t.startswith(old + ".") for t in type_names):
            sys.modules[old] = importlib.import_module(new)


def load_model(path: Path | str) -> TrainedModel:
    """Verify a model folder's checksums and allowed types, then load it."""
    import skops.io as sio

    folder = Path(path)
    if folder.is_file() and folder.name in (MANIFEST_FILE, PIPELINE_FILE):
        folder = folder.parent
    manifest_path = folder / MANIFEST_FILE
    manifest = read_manifest(folder)
    if manifest.get("format") != FORMAT:
        raise MlconfError(
            f"{manifest_path} has format {manifest.get('format')!r}, expected {FORMAT!r}",
            fix="retrain the model with this version of mlconf",
        )
    for name, expected in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise MlconfError(f"model file {file} is missing", fix="retrain or restore it")
        actual = sha256_file(file)
        if actual != expected:
            raise MlconfError(
                f"model file {file} does not match its manifest (sha256 {actual[:12]}..., "
                f"expected {expected[:12]}...): it was changed after training",
                fix="do not load it; retrain, or restore the file from a trusted copy",
            )
    data = (folder / PIPELINE_FILE).read_bytes()
    plugin_types = _plugin_types_to_trust(manifest, manifest_path)
    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if not _trusted(t, plugin_types)]
    if refused:
        raise MlconfError(
            f"model file {folder / PIPELINE_FILE} contains types that are not trusted: "
            f"{', '.join(refused)}",
            fix="only load models made by mlconf from registered components",
        )
    _resolve_moved_modules(untrusted)
    pipeline = code_pipeline(sio.loads(data, trusted=untrusted))
    background = None
    if BACKGROUND_FILE in manifest.get("files", {}):
        background = read_frame(folder / BACKGROUND_FILE)
    return TrainedModel(
        pipeline=pipeline,
        task=manifest["task"],
        target=manifest["target"],
        input_columns=manifest["input_columns"],
        classes=manifest.get("classes", []),
        manifest=manifest,
        background=background,
    )


def code_pipeline(pipeline: Any) -> Any:
    """The pipeline as mlconf scores with it, on class codes: a saved last step that decodes
    codes into labels for users outside mlconf (mlconf.ml.labelled) gives way to the code
    estimator it wraps. Models saved before that step existed load unchanged."""
    steps = getattr(pipeline, "steps", None)
    last = steps[-1][1] if steps else pipeline
    if not getattr(last, "decodes_class_codes", False):
        return pipeline
    if not steps:
        return last.estimator_
    steps[-1] = (steps[-1][0], last.estimator_)
    return pipeline


def model_files(folder: Path | str) -> dict[str, bytes]:
    """A model folder's manifest and the files it lists, as bytes: what a Dask worker on
    another machine needs to load the model (with `load_model_files`, checked as usual)."""
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    manifest = read_manifest(folder)
    names = [MANIFEST_FILE, *manifest.get("files", {})]
    return {name: (folder / name).read_bytes() for name in names}


def load_model_files(files: dict[str, bytes]) -> TrainedModel:
    """`load_model` on files given as bytes (see `model_files`): same checks, same result."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlconf-model-") as tmp:
        for name, content in files.items():
            if Path(name).name != name:
                raise MlconfError(f"model file name '{name}' is not a plain file name")
            (Path(tmp) / name).write_bytes(content)
        return load_model(tmp)


def background_bytes(frame: pd.DataFrame, rows: int, seed: int) -> bytes:
    """Up to `rows` rows of `frame`, sampled with `seed`, as Parquet (keeps the dtypes)."""
    sample = frame if len(frame) <= rows else frame.sample(rows, random_state=seed)
    return frame_bytes(sample, index=False)


def _registering_modules(plugins: list[str] | tuple[str, ...]) -> set[str]:
    """Import the plugin modules; return the modules that registered mlconf components.

    Only classes from such modules are trusted beyond the allow-list. A manifest is data,
    not authority: naming `posix` as a plugin does not make `posix.system` loadable.
    """
    from mlconf.core.component_registry import REGISTRY

    REGISTRY.import_plugins(list(plugins))
    return REGISTRY.origin_modules()


def _plugin_types_to_trust(manifest: dict[str, Any], where: Path) -> set[str]:
    try:
        registering = _registering_modules(manifest.get("plugins", []))
    except MlconfError as exc:
        raise MlconfError(
            f"the model needs its plugin modules: {exc.what}",
            where=str(where),
            fix="run from the project folder, or put the module on PYTHONPATH",
        ) from exc
    listed = registering & set(manifest.get("plugins", []))
    return {t for t in manifest.get("plugin_types", []) if t.rpartition(".")[0] in listed}


def _trusted(type_name: str, plugin_types: set[str]) -> bool:
    return (
        type_name in TRUSTED_TYPES
        or type_name in plugin_types
        or type_name.startswith(TRUSTED_MODULE_ROOTS)
    )


def _plugin_types(untrusted: list[str], plugins: list[str] | tuple[str, ...]) -> list[str]:
    """Types beyond the allow-list must come from the run's plugin modules, or saving stops."""
    extra = [t for t in untrusted if not _trusted(t, set())]
    registering = _registering_modules(plugins) if extra else set()
    listed = registering & set(plugins)
    foreign = [t for t in extra if t.rpartition(".")[0] not in listed]
    if foreign:
        raise MlconfError(
            f"the fitted pipeline holds objects that could not be loaded safely later: "
            f"{', '.join(foreign)}",
            fix="build components from classes defined in a module that registers them "
            "with @mlconf.register and is listed under `plugins:` (no lambdas, no functions "
            "from other modules)",
        )
    return extra
