"""`mlconf models export`: one registered version as a bundle, an MLflow model or ONNX.

`export_model` resolves the ref and writes the format asked for (`export_mlflow` and
`export_onnx` live beside this module). The bundle holds the model folder (copied, then
verified again by loading it), the input schema, `requirements.txt` pinned to the versions
installed here, the registry's record of the version and a README with the serve command.
It is built in a temporary sibling folder and renamed into place, so it appears complete
or not at all.
"""

from __future__ import annotations

import re
import shutil
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.distribution import DISTRIBUTION
from mlconf.core.errors import MlconfError
from mlconf.core.names import check_path
from mlconf.store.atomic import atomic_dir, write_json, write_text

if TYPE_CHECKING:
    from mlconf.store.model_registry import ModelRegistry, ModelVersion

# The extras a served bundle also needs, when they are installed.
SERVE_EXTRAS = ("serve",)
FORMATS = ("bundle", "mlflow", "onnx")


def export_model(
    registry: ModelRegistry,
    ref: str,
    target: Path | None = None,
    fmt: str = "bundle",
    max_disagreement: float = 0.01,
) -> tuple[ModelVersion, Path]:
    """Write the version `ref` (NAME@ALIAS, NAME:VERSION or NAME) in format `fmt` into the
    new or empty folder `target` (default: ./NAME-VERSION-FORMAT); the version and folder."""
    found = registry.resolve(ref)
    folder = Path(target or f"{found.name}-{found.version}-{fmt}")
    if fmt == "bundle":
        return found, export_bundle(registry, found.name, found.version, folder)
    if fmt not in FORMATS:
        raise MlconfError(f"unknown export format '{fmt}'", fix=f"use one of {', '.join(FORMATS)}")
    folder = _new_folder(folder)
    from mlconf.store.model_registry import open_model

    model, _ = open_model(f"{found.name}:{found.version}", registry.url)
    if fmt == "mlflow":
        from mlconf.deploy.export_mlflow import export_mlflow

        return found, export_mlflow(model, Path(found.model_dir), folder, requirements())
    from mlconf.deploy.export_onnx import export_onnx

    return found, export_onnx(model, folder, max_disagreement)


def _new_folder(target: Path) -> Path:
    """`target` checked to be a new or empty folder: nothing is overwritten."""
    target = check_path(target, "the export folder (DIR)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise MlconfError(
            f"'{target}' already exists and is not an empty folder",
            fix="export into a new or empty folder (nothing is overwritten)",
        )
    return target


def export_bundle(registry: ModelRegistry, name: str, version: int, target: Path) -> Path:
    """Write NAME:VERSION as a bundle into the (new or empty) folder `target`."""
    from mlconf.store.model_registry import open_model

    target = _new_folder(target)
    model, found = open_model(f"{name}:{version}", registry.url)
    if found is None:
        raise RuntimeError("internal error: expected found is not None")
    with atomic_dir(target) as tmp:
        shutil.copytree(found.model_dir, tmp / "model")
        from mlconf.store.artifacts import load_model

        load_model(tmp / "model")  # the copy must verify like the original
        write_json(tmp / "schema.json", _schema(model.manifest, found))
        write_json(tmp / "registry.json", _record(found))
        write_text(tmp / "requirements.txt", requirements())
        write_text(tmp / "README.md", _readme(found, model.manifest))
    return target


def requirements() -> str:
    """mlconf's runtime dependencies (and its serve extra) pinned to the installed versions.

    A dependency that differs by platform (xgboost-cpu on Linux and Windows, xgboost on
    macOS) keeps its environment marker, so the file installs on the machine that serves
    the bundle, not only on the one that exported it.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    lines = ["# Pinned to the versions this model was exported with."]
    try:
        version = metadata.version(DISTRIBUTION)
        lines.append(f"# {DISTRIBUTION} {version}: install it from its source tree")
        wanted = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        wanted = []
    pinned: dict[str, str] = {}
    for text in wanted:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker or "")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra and extra.group(1) not in SERVE_EXTRAS:
            continue
        platform = "" if extra or not marker else f"; {marker}"
        try:
            pin = f"{requirement.name}=={metadata.version(requirement.name)}{platform}"
        except metadata.PackageNotFoundError:
            if extra:
                continue
            # Not for this platform (or not installed): the range as declared, with its marker.
            pin = f"{requirement.name}{requirement.specifier}{platform}"
        pinned[requirement.name.lower()] = pin
    return "\n".join([*lines, *(pinned[key] for key in sorted(pinned))]) + "\n"


def _schema(manifest: dict[str, Any], found: ModelVersion) -> dict[str, Any]:
    return {
        "task": manifest.get("task"),
        "target": manifest.get("target"),
        "classes": manifest.get("classes"),
        "input_columns": manifest.get("input_columns"),
        "positive_class": manifest.get("positive_class"),
        "schema": manifest.get("schema") or found.schema.get("schema"),
    }


def _record(found: ModelVersion) -> dict[str, Any]:
    return {
        "name": found.name,
        "version": found.version,
        "sha256": found.sha256,
        "aliases": list(found.aliases),
        "status": found.status,
        "created_at": found.created_at,
        "forced": found.forced,
        "criteria_passed": found.criteria_passed,
        "parent_version": found.parent_version,
        "run_dir": str(found.run_dir),
        "metrics": found.metrics,
        "fingerprints": found.fingerprints,
    }


def _readme(found: ModelVersion, manifest: dict[str, Any]) -> str:
    columns = manifest.get("input_columns") or []
    return f"""# {found.name} version {found.version}

Exported from an mlconf model registry. The model is `model/` (a scikit-learn pipeline
saved with skops, plus `manifest.json` with the sha256 of every file; mlconf checks them
before loading and refuses a changed file).

- task: {manifest.get("task")}, target: `{manifest.get("target")}`
- input columns ({len(columns)}): {", ".join(f"`{c}`" for c in columns)}
- pipeline sha256: `{found.sha256}`
- `schema.json`: the input schema; `registry.json`: metrics, data fingerprints, history.

## Run it

```bash
python -m venv .venv && . .venv/bin/activate
pip install -r requirements.txt
pip install <path to the mlconf source tree>      # the version named in requirements.txt
mlconf serve model=./model                        # from this folder: REST service on http://127.0.0.1:8000
mlconf predict model=./model input=rows.csv output=scored.csv   # batch scoring
```

From Python:

```python
import mlconf
model = mlconf.load_model("model")
model.predict(frame)           # a pandas DataFrame with the input columns
```
"""
