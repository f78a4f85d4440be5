"""Opening the model a service runs: a model folder, or a registry ref once the registry exists.

A loaded model is immutable (`Loaded`): a reload builds a new one and swaps one reference,
so a request that started on the old model finishes on it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.serve.schema import FieldRule, field_rules, request_model
from mlconf.store.artifacts import MANIFEST_FILE, PIPELINE_FILE, sha256_file

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel, TypeAdapter

    from mlconf.serve.fast.compiler import CompiledScorer
    from mlconf.serve.fast.validate import FastValidator
    from mlconf.store.artifacts import TrainedModel


@dataclass(frozen=True)
class Loaded:
    """One verified model with its request model, name, version and class labels."""

    model: TrainedModel
    name: str
    version: str
    ref: str
    token: str  # what changes when the ref points at another model
    rules: list[FieldRule]
    record: type[BaseModel]
    adapter: TypeAdapter[Any]
    labels: list[str]
    sha256: str
    loaded_at: float = field(default_factory=time.time)
    # the compiled scorer (mlconf.serve.fast), or None with the reason in `scorer_note`
    scorer: CompiledScorer | None = None
    validator: FastValidator | None = None
    scorer_note: str = "not compiled"

    def score(self, frame: pd.DataFrame) -> tuple[list[Any], list[list[float]] | None]:
        """Predictions (class labels or values) and class probabilities, in one pass.

        `TrainedModel.predict` and `.predict_proba` would each run the feature transforms;
        here they run once and the last step gives both. An xgboost classifier's
        prediction is the most probable class, so its probabilities give the label too.
        """
        import numpy as np

        model = self.model
        pipeline = model.pipeline
        x = frame[model.input_columns]
        steps = getattr(pipeline, "steps", None)
        if steps and len(steps) > 1:
            x, last = pipeline[:-1].transform(x), steps[-1][1]
        else:
            last = pipeline
        if model.task != "classification":
            return np.asarray(last.predict(x), dtype=float).tolist(), None
        proba = last.predict_proba(x) if hasattr(last, "predict_proba") else None
        if proba is not None and type(last).__module__.startswith("xgboost."):
            codes = np.argmax(proba, axis=1)
        else:
            codes = np.asarray(last.predict(x), dtype=int)
        labels = np.asarray(model.classes, dtype=object)[codes].tolist()
        return labels, (proba.tolist() if proba is not None else None)


def _registry() -> Any:
    """The registry module, or None while this build has none."""
    import importlib

    try:
        return importlib.import_module("mlconf.store.model_registry")
    except ModuleNotFoundError:
        return None


@functools.lru_cache(maxsize=4)
def _open_registry(url: str) -> Any:
    """One registry client per URL for the periodic alias checks (not one engine a minute)."""
    return _registry().ModelRegistry(url)


def registry_engine(url: str) -> Any:
    """The registry's engine for the prediction log to share, or None without a registry."""
    return _open_registry(url).engine if _registry() is not None else None


def registered_schema(url: str, name: str, version: int) -> dict[str, Any] | None:
    """The task and classes a registered version was trained with; None if not registered."""
    import sqlalchemy as sa

    if _registry() is None:
        return None
    try:
        return dict(_open_registry(url).resolve(f"{name}:{version}").schema)
    except (MlconfError, sa.exc.SQLAlchemyError):
        return None


def _no_registry(ref: str) -> MlconfError:
    return MlconfError(
        f"model '{ref}' is not a model folder (no {MANIFEST_FILE} there), and this build of "
        "mlconf has no model registry to look it up in",
        where="model=",
        fix="pass a run's model folder, e.g. model=experiments/<name>/runs/<run>/model",
    )


def change_token(ref: str, registry_url: str) -> str:
    """Cheap: what identifies the model `ref` points at now (no loading, no verification)."""
    folder = Path(ref)
    if (folder / MANIFEST_FILE).is_file():
        return sha256_file(folder / MANIFEST_FILE)
    registry = _registry()
    if registry is None:
        raise _no_registry(ref)
    version = _open_registry(registry_url).resolve(ref)
    return f"{version.name}:{version.version}:{version.sha256}"


def open_ref(ref: str, registry_url: str, extra_fields: str = "ignore") -> Loaded:
    """Load and verify the model `ref` names; build its request model."""
    from pydantic import TypeAdapter

    from mlconf.serve.fast.validate import FastValidator

    folder = Path(ref)
    registry = _registry()
    version_info = None
    if registry is not None:
        model, version_info = registry.open_model(ref, registry_url)
    elif (folder / MANIFEST_FILE).is_file():
        from mlconf.store.artifacts import load_model

        model = load_model(folder)
    else:
        raise _no_registry(ref)
    manifest = model.manifest
    if version_info is not None:
        name, version = str(version_info.name), str(version_info.version)
        token = f"{version_info.name}:{version_info.version}:{version_info.sha256}"
    else:
        name = str(manifest.get("experiment") or folder.resolve().parent.name)
        version = str(manifest.get("run_id") or manifest["files"][PIPELINE_FILE][:12])
        token = sha256_file(folder / MANIFEST_FILE)
    rules = field_rules(model)
    record = request_model(rules, extra_fields)
    loaded = Loaded(
        model=model,
        name=name,
        version=version,
        ref=ref,
        token=token,
        rules=rules,
        record=record,
        adapter=TypeAdapter(list[record]),  # type: ignore[valid-type]
        labels=[str(c) for c in model.classes],
        sha256=str(manifest.get("files", {}).get(PIPELINE_FILE, "")),
        validator=FastValidator(rules, extra_fields),
    )
    return with_compiled_scorer(loaded)


def with_compiled_scorer(loaded: Loaded) -> Loaded:
    """`loaded` with its compiled scorer when it compiles and agrees with the full pipeline
    on the reference rows; otherwise without, saying why (the full pipeline serves)."""
    import dataclasses

    from mlconf.serve.fast.compiler import compile_scorer
    from mlconf.serve.fast.steps import CannotCompileError
    from mlconf.serve.fast.verify import disagreement

    try:
        scorer = compile_scorer(loaded.model, loaded.rules)
        problem = disagreement(loaded, scorer)
    except CannotCompileError as exc:
        return dataclasses.replace(loaded, scorer_note=f"full pipeline: {exc}")
    except Exception as exc:  # a compiler bug must never stop a good model from serving
        return dataclasses.replace(
            loaded, scorer_note=f"full pipeline: compiling failed ({type(exc).__name__}: {exc})"
        )
    if problem is not None:
        return dataclasses.replace(
            loaded, scorer_note=f"full pipeline: the compiled scorer disagreed ({problem})"
        )
    return dataclasses.replace(
        loaded, scorer=scorer, scorer_note=f"compiled ({scorer.final.name}), verified"
    )
