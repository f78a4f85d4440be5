"""Other clients' request formats, turned into the records `/predict` takes.

MLflow's scoring server (`POST /invocations`): a JSON object with exactly one of
`dataframe_split` ({columns, data[, index]}), `dataframe_records` (a list of records),
`instances` or `inputs` (a list of records, or {column: [values]}).
Open Inference Protocol v2 (`POST /v2/models/{name}/infer`): `inputs` is a list of
tensors, one per input column, each {name, shape, datatype, data} with one value per row.
The records then pass the same validation as `/predict`, so a bad value gets the same 422.
"""

from __future__ import annotations

from typing import Any

from mlconf.serve.errors import RequestError

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _format_error(message: str, where: str | None, fix: str) -> RequestError:
    return RequestError(
        400, "invalid_format", message, [{"field": where, "rule": "format", "message": fix}]
    )


def _columnar(table: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """{column: [values]} as records; every column the same length."""
    lengths = {len(v) if isinstance(v, list) else -1 for v in table.values()}
    if -1 in lengths or len(lengths) > 1:
        raise _format_error(
            f"{where} holds columns of different lengths or a column that is not a list",
            where,
            "send {column: [one value per record], ...} with lists of equal length",
        )
    size = lengths.pop() if lengths else 0
    return [{name: values[i] for name, values in table.items()} for i in range(size)]


def _split(split: Any) -> list[dict[str, Any]]:
    where = "dataframe_split"
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise _format_error(
            "dataframe_split needs 'columns' (a list of names) and 'data' (a list of rows)",
            where,
            'send {"dataframe_split": {"columns": [...], "data": [[...], ...]}}',
        )
    columns, data = split["columns"], split.get("data")
    if not isinstance(data, list):
        raise _format_error(
            "dataframe_split.data is not a list of rows",
            f"{where}.data",
            "send data as a list of rows, each a list of values in the order of 'columns'",
        )
    records = []
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _format_error(
                f"dataframe_split.data[{i}] is not a list of {len(columns)} values",
                f"{where}.data[{i}]",
                "send one value per column, in the order of 'columns'",
            )
        records.append(dict(zip(columns, row, strict=True)))
    return records


def mlflow_records(body: Any) -> Any:
    """The records of an MLflow `/invocations` body (validated later like /predict's)."""
    keys = [k for k in MLFLOW_KEYS if isinstance(body, dict) and k in body]
    if len(keys) != 1:
        raise _format_error(
            "the body must be a JSON object with exactly one of: " + ", ".join(MLFLOW_KEYS),
            None,
            'e.g. {"dataframe_records": [{"column": value, ...}]}',
        )
    key = keys[0]
    value = body[key]
    if key == "dataframe_split":
        return _split(value)
    if isinstance(value, dict) and key in ("instances", "inputs"):
        return _columnar(value, key)
    if isinstance(value, list) and value and not all(isinstance(r, dict) for r in value):
        raise _format_error(
            f"{key} holds values without column names",
            key,
            "send records ({column: value}) or dataframe_split with 'columns'",
        )
    return value


def v2_records(body: Any) -> list[dict[str, Any]]:
    """The records of an Open Inference Protocol v2 infer request: one tensor per column."""
    tensors = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(tensors, list) or not tensors:
        raise _format_error(
            "the body must be a JSON object whose 'inputs' is a list of tensors",
            "inputs",
            'send {"inputs": [{"name": COLUMN, "shape": [N], "datatype": "FP64", "data": [...]}]}',
        )
    table: dict[str, Any] = {}
    for i, tensor in enumerate(tensors):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise _format_error(f"inputs[{i}] has no name", f"inputs[{i}]", "name each tensor")
        data = tensor.get("data")
        if isinstance(data, list) and data and all(isinstance(v, list) for v in data):
            if any(len(v) != 1 for v in data):
                raise _format_error(
                    f"input '{tensor['name']}' is not one value per row",
                    f"inputs[{i}].data",
                    "send each column as its own tensor of shape [N] or [N, 1]",
                )
            data = [v[0] for v in data]
        table[tensor["name"]] = data
    return _columnar(table, "inputs")


def v2_datatype(values: list[Any]) -> str:
    """The v2 datatype of an output column."""
    if values and all(isinstance(v, bool) for v in values):
        return "BOOL"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


V2_INPUT_TYPES = {"float": "FP64", "int": "INT64", "str": "BYTES", "bool": "BOOL", "any": "BYTES"}
