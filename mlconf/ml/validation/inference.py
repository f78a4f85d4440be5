"""A starter schema inferred from data, written as reviewable YAML."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

from mlconf.core.dtypes import kind

# mlconf.core.dtypes' kind -> the schema's friendly dtype name; other kinds keep pandas' name.
_FRIENDLY = {
    "boolean": "bool",
    "integer": "int",
    "float": "float",
    "category": "category",
    "datetime": "datetime",
    "text": "str",
}


def _friendly(series: pd.Series) -> str:
    """The dtype to write in the schema; a zoned datetime keeps its zone (pandas' name)."""
    dtype = series.dtype
    friendly = _FRIENDLY.get(kind(dtype))
    if friendly is None or (friendly == "datetime" and getattr(dtype, "tz", None) is not None):
        return str(dtype)
    return friendly


def infer_schema(frame: pd.DataFrame, *, max_allowed: int = 20) -> dict[str, Any]:
    """A starter schema from the data itself, so that writing one starts from facts.

    The observed ranges and value sets are only what occurred: review them before use.
    """
    columns: dict[str, dict[str, Any]] = {}
    for name in frame.columns:
        series = frame[name]
        dtype = _friendly(series)
        spec: dict[str, Any] = {"dtype": dtype, "nullable": bool(series.isna().any())}
        observed = series.dropna()
        if dtype in ("int", "float") and len(observed):
            low, high = float(observed.min()), float(observed.max())
            if math.isfinite(low):
                spec["min"] = math.floor(low)
            if math.isfinite(high):
                spec["max"] = math.ceil(high)
        if dtype in ("str", "category") and len(observed):
            distinct = pd.unique(observed)
            if len(distinct) <= max_allowed and all(isinstance(v, str) for v in distinct):
                spec["allowed"] = sorted(str(v) for v in distinct)
        if (
            dtype in ("str", "int")
            and len(series) > 20
            and not spec["nullable"]
            and series.is_unique
        ):
            spec["unique"] = True
        columns[str(name)] = spec
    return {"on_error": "fail", "coerce": True, "columns": columns}


class _FlowDict(dict[str, Any]):
    """A mapping written on one line, like the columns of conf/schema/cars.yaml."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _FlowDict) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(data.items()), flow_style=True)


_Dumper.add_representer(_FlowDict, _represent_flow)


def schema_yaml(schema: Mapping[str, Any], *, source: str) -> str:
    """The schema as YAML with a header that says where it came from and what to review."""
    body: dict[str, Any] = {k: v for k, v in schema.items() if k != "columns"}
    body["columns"] = {
        str(name): _FlowDict(spec or {}) for name, spec in (schema.get("columns") or {}).items()
    }
    origin = " ".join(str(source).split())
    header = (
        f"# Schema inferred from {origin} by mlconf.\n"
        "# Review it before use: min/max are the observed range rounded outward and `allowed`\n"
        "# lists only the values seen; widen them to what is valid, not just what occurred,\n"
        "# and set nullable: false where a value must always be present.\n"
    )
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + text
