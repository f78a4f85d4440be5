"""`mlconf models export REF --format onnx`: the pipeline as one ONNX graph, checked.

skl2onnx converts the scikit-learn steps, onnxmltools the xgboost model; mlconf registers
converters for its own steps that have one (the feature-name step is an identity) and
refuses, naming the step, a pipeline with a step that has none. The graph answers in
labels: the class codes of the model are decoded inside it. Before anything is written,
onnxruntime runs the graph on the model's reference rows (the training sample kept beside
it) and compares the labels (values for regression) with the pipeline's. The feature steps
run in double, as scikit-learn's do, and a tree model gets its features cast to float32, as
xgboost and scikit-learn's trees cast them themselves, so the answers agree to rounding;
more rows with another label than `max_disagreement` allows refuse the export, and how
many rows' probabilities differ, and by how much, is recorded in onnx.json.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.distribution import install_hint
from mlconf.core.errors import MlconfError
from mlconf.deploy.scoring import score
from mlconf.deploy.scoring_model import dtype_kind, training_dtypes
from mlconf.store.atomic import atomic_dir, write_bytes, write_json

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlconf.store.artifacts import TrainedModel

ONNX_FILE = "model.onnx"
OPSET = {"": 17, "ai.onnx.ml": 3}
# A missing value of a text column, as the ONNX model is fed it (strings have no NaN).
MISSING_TEXT = ""
# Regression values (relative) closer than this count as the same; probabilities further
# apart than this are counted and reported.
TOLERANCE = 1e-3


def _require() -> None:
    try:
        import onnxmltools  # noqa: F401
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError as exc:
        raise MlconfError(
            f"--format onnx needs skl2onnx, onnxmltools and onnxruntime ({exc})",
            fix=install_hint("onnx"),
        ) from exc


def _register_converters() -> None:
    """xgboost's converter (onnxmltools) and identities for mlconf's name-only step."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import FloatTensorType
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes
    from sklearn.impute import SimpleImputer
    from xgboost import XGBClassifier, XGBRegressor

    from mlconf.components.transformers.feature_names import SafeFeatureNames

    def classifier_shapes(operator: Any) -> None:
        calculate_linear_classifier_output_shapes(operator)
        operator.outputs[1].type = FloatTensorType(operator.outputs[1].type.shape)

    def regressor_shapes(operator: Any) -> None:
        calculate_linear_regressor_output_shapes(operator)
        operator.outputs[0].type = FloatTensorType(operator.outputs[0].type.shape)

    # xgboost computes in float32 whatever it is given: so do its ONNX outputs.
    options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(
        XGBClassifier, "XGBoostXGBClassifier", classifier_shapes, convert_xgboost, options=options
    )
    update_registered_converter(
        XGBRegressor, "XGBoostXGBRegressor", regressor_shapes, convert_xgboost
    )

    def imputer_shapes(operator: Any) -> None:
        # the output is of the input's type (skl2onnx presets the graph's number type)
        operator.outputs[0].type = type(operator.inputs[0].type)([None, None])
        calculate_sklearn_imputer_output_shapes(operator)

    update_registered_converter(SimpleImputer, "SklearnSimpleImputer", imputer_shapes, _imputer)

    def same_shape(operator: Any) -> None:
        operator.outputs[0].type = copy.deepcopy(operator.inputs[0].type)

    def identity(scope: Any, operator: Any, container: Any) -> None:
        name = scope.get_unique_operator_name("MlconfSafeFeatureNames")
        container.add_node(
            "Identity", operator.inputs[0].full_name, operator.outputs[0].full_name, name=name
        )

    update_registered_converter(SafeFeatureNames, "MlconfSafeFeatureNames", same_shape, identity)


def _imputer(scope: Any, operator: Any, container: Any) -> None:
    """SimpleImputer on double columns: IsNaN and Where in double (skl2onnx's own converter
    uses the Imputer operator, which onnxruntime runs on float32 only); else skl2onnx's."""
    import math

    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.operator_converters.common import concatenate_variables
    from skl2onnx.operator_converters.imputer_op import convert_sklearn_imputer

    op = operator.raw_operator
    missing = op.missing_values
    is_nan = isinstance(missing, float) and math.isnan(missing)
    if not isinstance(operator.inputs[0].type, DoubleTensorType) or not is_nan:
        convert_sklearn_imputer(scope, operator, container)
        return
    x = concatenate_variables(scope, operator.inputs, container)
    fill = scope.get_unique_variable_name("fill")
    values = [float(v) for v in op.statistics_]
    container.add_initializer(fill, TensorProto.DOUBLE, [len(values)], values)
    nan = scope.get_unique_variable_name("isnan")
    container.add_node("IsNaN", [x], [nan], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Where",
        [nan, fill, x],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


def _steps(obj: Any, path: str) -> list[tuple[str, Any]]:
    """Every leaf step of a pipeline with where it sits (`features > numeric > 0_impute`)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(obj, Pipeline):
        return [s for name, step in obj.steps for s in _steps(step, f"{path} > {name}")]
    if isinstance(obj, ColumnTransformer):
        found = []
        for name, step, columns in getattr(obj, "transformers_", obj.transformers):
            empty = hasattr(columns, "__len__") and len(columns) == 0
            if step not in ("drop", "passthrough") and not empty:
                found += _steps(step, f"{path} > {name}")
        return found
    if isinstance(obj, FeatureUnion):
        return [s for name, step in obj.transformer_list for s in _steps(step, f"{path} > {name}")]
    return [(path, obj)]


def refuse_unconvertible(pipeline: Any) -> None:
    """Name the first step no ONNX converter is registered for."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    for where, step in _steps(pipeline, "pipeline"):
        if type(step) not in sklearn_operator_name_map:
            kind = f"{type(step).__module__}.{type(step).__name__}"
            raise MlconfError(
                f"the step '{where.removeprefix('pipeline > ')}' ({kind}) cannot be converted "
                "to ONNX: no converter is registered for it",
                where="--format onnx",
                fix="export with --format mlflow or as a bundle (no --format), or retrain "
                "without that step; a converter can be registered with "
                "skl2onnx.update_registered_converter",
            )


def _convertible(pipeline: Any) -> Any:
    """A copy whose xgboost booster forgets its feature names (the converter wants f0..),
    its features cast to float32 right before a model that does so itself (xgboost, trees):
    the feature steps run in double, like scikit-learn's, and rows on a split go the same
    way."""
    import numpy as np
    from skl2onnx.sklapi import CastTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    pipeline = copy.deepcopy(pipeline)
    for _, step in _steps(pipeline, "pipeline"):
        if hasattr(step, "get_booster"):
            step.get_booster().feature_names = None
        if isinstance(step, SimpleImputer) and step.statistics_.dtype.kind in "OSU":
            step.missing_values = MISSING_TEXT  # ONNX strings have no NaN: see `feeds`
    steps = getattr(pipeline, "steps", None)
    if steps and _float32_model(steps[-1][1]):
        cast = CastTransformer(dtype=np.float32).fit(np.zeros((1, 1)))
        pipeline = Pipeline([*steps[:-1], ("mlconf_float32", cast), steps[-1]])
    return pipeline


def _float32_model(estimator: Any) -> bool:
    """Models that cast their features to float32 before the trees: xgboost, and
    scikit-learn's decision trees and forests."""
    from sklearn.ensemble._forest import BaseForest
    from sklearn.tree import BaseDecisionTree

    return hasattr(estimator, "get_booster") or isinstance(estimator, BaseForest | BaseDecisionTree)


def _input_types(model: TrainedModel) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    dtypes = training_dtypes(model)
    return [
        (c, DoubleTensorType([None, 1]) if _numeric(dtypes.get(c)) else StringTensorType([None, 1]))
        for c in model.input_columns
    ]


def _numeric(dtype: str | None) -> bool:
    """Whether a training dtype is numbers, pandas' nullable ones (Int64, Float64) too."""
    import pandas as pd

    if dtype is None:
        return False
    try:
        return bool(pd.api.types.is_numeric_dtype(pd.api.types.pandas_dtype(dtype)))
    except TypeError:
        return dtype_kind(dtype) in "fiub"


def _decode_labels(onx: Any, classes: list[str]) -> None:
    """Make the graph's `label` output the class label: Gather over the classes."""
    from onnx import TensorProto, helper

    graph = onx.graph
    for node in graph.node:
        node.output[:] = ["mlconf_label_code" if o == "label" else o for o in node.output]
    encoded: Any = [c.encode() for c in classes]
    values = helper.make_tensor("mlconf_classes_value", TensorProto.STRING, [len(classes)], encoded)
    graph.node.append(helper.make_node("Constant", [], ["mlconf_classes"], value=values))
    graph.node.append(
        helper.make_node("Gather", ["mlconf_classes", "mlconf_label_code"], ["label"], axis=0)
    )
    for output in graph.output:
        if output.name == "label":
            output.type.tensor_type.elem_type = TensorProto.STRING


def convert(model: TrainedModel) -> Any:
    """The model's pipeline as an ONNX model that answers in labels."""
    _require()
    _register_converters()
    from skl2onnx import convert_sklearn

    pipeline = _convertible(model.pipeline)
    refuse_unconvertible(pipeline)
    last = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    classifier = model.task == "classification"
    options = {id(last): {"zipmap": False}} if classifier else None
    try:
        onx = convert_sklearn(
            pipeline, initial_types=_input_types(model), options=options, target_opset=OPSET
        )
    except Exception as exc:  # the converter's own complaint, with what was converted
        raise MlconfError(
            f"converting the pipeline to ONNX failed: {type(exc).__name__}: {str(exc)[:400]}",
            where="--format onnx",
            fix="export with --format mlflow or as a bundle (no --format)",
        ) from exc
    if classifier:
        _decode_labels(onx, [str(c) for c in model.classes])
    return onx


def feeds(session: Any, model: TrainedModel, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ONNX inputs for `rows`: one [n, 1] tensor per input column, in the model's order
    (ONNX input names are the column names made safe, e.g. spaces become _); numbers as
    double, text as strings with "" for a missing value."""
    import numpy as np

    out = {}
    for node, column in zip(session.get_inputs(), model.input_columns, strict=True):
        values = rows[[column]]
        if node.type == "tensor(double)":
            out[node.name] = values.astype("float64").to_numpy(dtype=np.float64)
        else:
            text = values.astype(object).where(values.notna(), MISSING_TEXT).astype(str)
            out[node.name] = text.to_numpy(dtype=object)
    return out


def check(onx: Any, model: TrainedModel, max_disagreement: float) -> dict[str, Any]:
    """Run the graph on the reference rows beside the pipeline; refuse what disagrees."""
    import numpy as np
    import onnxruntime as ort

    rows = model.background
    if rows is None or len(rows) == 0:
        raise MlconfError(
            "the model keeps no reference rows to check the ONNX export against",
            where="--format onnx",
            fix="retrain with explain.background_rows > 0 (the default keeps 100 rows)",
        )
    try:
        session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        got = session.run(None, feeds(session, model, rows))
    except Exception as exc:  # the runtime cannot run what the converters wrote
        raise MlconfError(
            f"onnxruntime cannot run the converted model: {type(exc).__name__}: {str(exc)[:400]}",
            where="--format onnx",
            fix="export with --format mlflow or as a bundle (no --format)",
        ) from exc
    expected, proba = score(model, rows)
    result: dict[str, Any] = {"reference_rows": len(rows)}
    if model.task == "classification":
        same = np.asarray(got[0]).astype(str) == np.asarray(expected).astype(str)
        if proba is not None:
            gap = np.abs(np.asarray(got[1]) - proba).max(axis=1)
            result["rows_whose_probabilities_differ"] = int((gap > TOLERANCE).sum())
            result["max_probability_difference"] = float(gap.max())
    else:
        values = np.asarray(got[0], dtype=float).ravel()
        same = np.isclose(values, expected, rtol=TOLERANCE, atol=TOLERANCE)
    share = float(1 - same.mean())
    result["rows_that_differ"] = int((~same).sum())
    result |= {"share_that_differs": share, "max_disagreement": max_disagreement}
    if share > max_disagreement:
        raise MlconfError(
            f"the ONNX model differs from the pipeline on {result['rows_that_differ']} of "
            f"{len(rows)} reference rows ({share:.1%}; allowed {max_disagreement:.1%})",
            where="--format onnx",
            fix="export with --format mlflow, or allow more with --max-disagreement if "
            "float32 rounding at tree splits is acceptable for your use",
        )
    return result


def export_onnx(model: TrainedModel, target: Path, max_disagreement: float = 0.01) -> Path:
    """Write model.onnx and onnx.json (inputs, outputs, the check) into `target`."""
    onx = convert(model)
    checked = check(onx, model, max_disagreement)
    import onnxruntime as ort

    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = {
        node.name: {"column": column, "type": node.type}
        for node, column in zip(session.get_inputs(), model.input_columns, strict=True)
    }
    about = {
        "task": model.task,
        "target": model.target,
        "classes": [str(c) for c in model.classes],
        "inputs": inputs,
        "outputs": [node.name for node in session.get_outputs()],
        "check": checked,
    }
    with atomic_dir(target) as tmp:
        write_bytes(tmp / ONNX_FILE, onx.SerializeToString())
        write_json(tmp / "onnx.json", about)
    return target
