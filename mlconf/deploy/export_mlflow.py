"""`mlconf models export REF --format mlflow`: an MLflow pyfunc model of a registered version.

`mlflow.pyfunc.load_model(DIR)` loads it and `predict` returns the labels (probabilities
with `params={"proba": True}`). The signature comes from the model's schema: each input
column's training dtype, the prediction's type and the `proba` parameter. The model is
saved "from code" (a three-line script naming `MlconfPyfunc`), not pickled; the mlconf
model folder travels as its artifact and is verified when MLflow loads it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.distribution import install_hint
from mlconf.core.errors import MlconfError
from mlconf.deploy.scoring_model import dtype_kind, training_dtypes
from mlconf.store.atomic import atomic_dir

if TYPE_CHECKING:
    from mlconf.store.artifacts import TrainedModel

MODEL_SCRIPT = '''"""An mlconf model as an MLflow pyfunc, loaded from code (no pickle)."""

import mlflow

from mlconf.deploy.export_mlflow_model import MlconfPyfunc

mlflow.models.set_model(MlconfPyfunc())
'''
# numpy kinds -> MLflow column types
COLUMN_TYPES = {"f": "double", "i": "long", "u": "long", "b": "boolean", "M": "datetime"}


def _column_type(dtype: str | None) -> str:
    if dtype is None:
        return "string"
    if dtype.startswith(("int32", "Int32")):
        return "integer"
    return COLUMN_TYPES.get(dtype_kind(dtype), "string")


def signature(model: TrainedModel) -> Any:
    """Inputs typed by the training dtypes; outputs `prediction` and the optional
    `proba_<class>` columns; the `proba` parameter."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    dtypes = training_dtypes(model)
    columns: list[Any] = [ColSpec(_column_type(dtypes.get(c)), c) for c in model.input_columns]
    classification = model.task == "classification"
    outputs: list[Any] = [ColSpec("string" if classification else "double", "prediction")]
    outputs += [ColSpec("double", f"proba_{c}", required=False) for c in model.classes]
    parts: dict[str, Any] = {"inputs": Schema(columns), "outputs": Schema(outputs)}
    if classification:
        parts["params"] = ParamSchema([ParamSpec("proba", "boolean", False)])
    return ModelSignature(**parts)


def export_mlflow(model: TrainedModel, model_dir: Path, target: Path, requirements: str) -> Path:
    """Write the pyfunc model into the new folder `target`; `requirements` is the pinned
    requirements.txt text of mlconf's dependencies (mlconf.deploy.export.requirements)."""
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        raise MlconfError(
            f"--format mlflow needs MLflow, which is not installed ({exc})",
            fix=install_hint("mlflow"),
        ) from exc
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    example = model.background.head(5) if model.background is not None else None
    with tempfile.TemporaryDirectory(prefix="mlconf-pyfunc-") as scratch:
        script = Path(scratch) / "mlconf_model.py"
        script.write_text(MODEL_SCRIPT, encoding="utf-8")
        with atomic_dir(target) as tmp:
            tmp.rmdir()  # MLflow makes the folder itself
            mlflow.pyfunc.save_model(
                str(tmp),
                python_model=str(script),
                artifacts={"model": str(model_dir)},
                signature=signature(model),
                input_example=example,
                pip_requirements=[*pins, "mlflow-skinny"],
            )
    return target
