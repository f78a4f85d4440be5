"""The model a batch is scored with, and what its manifest says about the input: the
training dtypes, the id columns and the columns it saw as text."""

from __future__ import annotations

import os
from pathlib import Path

from mlconf.core.errors import MlconfError
from mlconf.store.artifacts import PIPELINE_FILE, TrainedModel

FOLDER_FIX = "pass the `model/` folder of a run, e.g. model=experiments/<name>/runs/<run>/model"


def open_scoring_model(ref: str, registry_url: str) -> tuple[TrainedModel, str, Path | None]:
    """The model for a folder path or a registry ref (NAME@ALIAS, NAME:VERSION, NAME), the
    version written beside every prediction (`name:version` from the registry, else the
    first 12 hex digits of the pipeline's sha256 for a folder) and the model's folder."""
    import importlib

    from mlconf.store.artifacts import load_model

    try:  # the registry arrives in its own module; until then only folders are models
        open_model = importlib.import_module("mlconf.store.model_registry").open_model
    except ImportError:
        open_model = None
    if open_model is not None:
        model, version = open_model(ref, registry_url)
        if version is not None:
            return model, f"{version.name}:{version.version}", Path(version.model_dir)
        return model, _folder_version(model), Path(ref).expanduser()
    path = Path(ref).expanduser()
    if path.exists():
        model = load_model(path)
        return model, _folder_version(model), path
    if os.sep in ref or ref.startswith(".") or ("@" not in ref and ":" not in ref):
        raise MlconfError(
            f"model folder '{path}' does not exist (looked relative to {Path.cwd()})",
            where="model=",
            fix=FOLDER_FIX,
        )
    raise MlconfError(
        f"'{ref}' is not a model folder, and this installation has no model registry to "
        "resolve NAME@ALIAS refs",
        where="model=",
        fix=FOLDER_FIX,
    )


def _folder_version(model: TrainedModel) -> str:
    digest = str(model.manifest.get("files", {}).get(PIPELINE_FILE, ""))
    return f"sha256:{digest[:12]}" if digest else "unversioned"


def training_dtypes(model: TrainedModel) -> dict[str, str]:
    """Each input column's training dtype: from the manifest, else the background sample."""
    dtypes = model.manifest.get("input_dtypes")
    if isinstance(dtypes, dict) and dtypes:
        return {str(k): str(v) for k, v in dtypes.items()}
    if model.background is not None:
        frame = model.background
        return {c: str(frame[c].dtype) for c in model.input_columns if c in frame.columns}
    return {}


def dtype_kind(dtype: str) -> str:
    """numpy's one-letter kind of a dtype name; "O" for pandas' own (str, string, category)."""
    import numpy as np

    try:
        return str(np.dtype(dtype).kind)
    except TypeError:
        return "O"


def id_columns(model: TrainedModel, folder: Path | None = None) -> list[str]:
    """`data.id_columns` of the run that trained the model (manifest, else its config.yaml)."""
    ids = model.manifest.get("id_columns")
    if isinstance(ids, list):
        return [str(c) for c in ids]
    if folder is not None and (folder.parent / "config.yaml").is_file():
        import yaml

        try:
            config = yaml.safe_load((folder.parent / "config.yaml").read_text()) or {}
        except yaml.YAMLError:
            return []
        found = (config.get("data") or {}).get("id_columns") or []
        return [str(c) for c in found] if isinstance(found, list) else []
    return []


def text_columns(model: TrainedModel) -> list[str]:
    """Input columns the model saw as text: read as text from CSV, whatever a chunk holds."""
    return [
        name
        for name, dtype in training_dtypes(model).items()
        if dtype_kind(dtype) in "OSU" and dtype != "category"
    ]
