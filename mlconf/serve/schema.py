"""The request model of `/predict`, generated from the training schema in a model's manifest.

Each input column becomes a field named by the column (as an alias, so names with spaces
work). Its type, nullability, range and allowed values come from the schema the model was
trained under; a column the schema does not describe takes its type from the background
rows saved with the model, else accepts any scalar. Validation is strict: "3" is not a
number, 3.5 is not an int, so a client bug is a 422 naming the field instead of a silent
cast. Unknown categories in text columns without an `allowed` list pass through to the
pipeline, which handles them as it did in training (e.g. one-hot encoders ignore them).
A text column's `regex` rule is applied too, after the types, with the same bounded matcher
as training and monitoring (mlconf.core.regex_rules), so a value that would be quarantined there
is refused here, and a value crafted to make the pattern backtrack costs a bounded time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

    from mlconf.store.artifacts import TrainedModel

EXTRA_FIELDS = ("ignore", "reject")
# A request's regex check gives up after one value that takes this long (seconds).
REGEX_TIMEOUT = 0.05
MAX_PROBLEMS = 50
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class FieldRule:
    """What one input column accepts."""

    column: str
    kind: str  # float | int | str | bool | any
    nullable: bool
    min: float | None = None
    max: float | None = None
    allowed: tuple[Any, ...] | None = None
    regex: str | None = None  # text columns: the whole value must match

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "nullable": self.nullable}
        for key in ("min", "max", "regex"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        return out


_KINDS = {"int": "int", "float": "float", "str": "str", "category": "str", "bool": "bool"}


# mlconf.core.dtypes' kind -> the JSON type a request field takes; any other kind takes "any".
_REQUEST_TYPES = {
    "boolean": "bool",
    "integer": "int",
    "float": "float",
    "number": "float",
    "category": "str",
    "text": "str",
}


def _kind_of_dtype(dtype: Any) -> str:
    from mlconf.core.dtypes import kind

    return _REQUEST_TYPES.get(kind(dtype), "any")


def field_rules(model: TrainedModel) -> list[FieldRule]:
    """One rule per input column, from the manifest's schema and the background dtypes."""
    columns = (model.manifest.get("schema") or {}).get("columns") or {}
    background = model.background
    rules = []
    for column in model.input_columns:
        spec = columns.get(column)
        if spec and spec.get("dtype") in _KINDS:
            allowed = spec.get("allowed")
            kind = _KINDS[spec["dtype"]]
            rules.append(
                FieldRule(
                    column=column,
                    kind=kind,
                    nullable=bool(spec.get("nullable", True)),
                    min=spec.get("min"),
                    max=spec.get("max"),
                    allowed=tuple(allowed) if allowed else None,
                    regex=spec.get("regex") if kind == "str" else None,
                )
            )
        elif background is not None and column in background.columns:
            # Training rows tell the type; missing values are left to the pipeline's imputers.
            rules.append(FieldRule(column, _kind_of_dtype(background[column].dtype), True))
        else:
            rules.append(FieldRule(column, "any", True))
    return rules


def _annotation(rule: FieldRule) -> Any:
    from typing import Annotated

    from pydantic import Field, StrictBool, StrictInt, StrictStr

    base: Any
    if rule.allowed is not None:
        values = tuple(str(v) if rule.kind == "str" else v for v in rule.allowed)
        base = Literal[values]
    elif rule.kind == "float":
        base = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=rule.min, le=rule.max)]
    elif rule.kind == "int":
        # the frame holds int64: a bigger number would overflow on the way to the model
        low = INT64[0] if rule.min is None else max(rule.min, INT64[0])
        high = INT64[1] if rule.max is None else min(rule.max, INT64[1])
        base = Annotated[StrictInt, Field(ge=low, le=high)]
    elif rule.kind == "str":
        base = StrictStr
    elif rule.kind == "bool":
        base = StrictBool
    else:
        base = Annotated[float, Field(allow_inf_nan=False)] | str | bool
    return base | None if rule.nullable else base


def request_model(rules: list[FieldRule], extra_fields: str = "ignore") -> type[BaseModel]:
    """A pydantic model with one required field per input column (null where nullable)."""
    from pydantic import ConfigDict, Field, create_model

    if extra_fields not in EXTRA_FIELDS:
        from mlconf.core.errors import MlconfError

        raise MlconfError(
            f"deploy.serve.extra_fields is '{extra_fields}'",
            fix=f"use one of: {', '.join(EXTRA_FIELDS)}",
        )
    fields: dict[str, Any] = {
        f"f{i}": (_annotation(rule), Field(..., alias=rule.column)) for i, rule in enumerate(rules)
    }
    config = ConfigDict(extra="forbid" if extra_fields == "reject" else "ignore")
    return create_model("Record", __config__=config, **fields)


def text_rule_problems(records: list[BaseModel], rules: list[FieldRule]) -> list[dict[str, Any]]:
    """The values that break a `regex` rule, as 422 detail items (at most MAX_PROBLEMS)."""
    from mlconf.core.regex_rules import full_matches
    from mlconf.serve.errors import echo

    problems: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        if rule.regex is None:
            continue
        found = [(r, getattr(record, f"f{i}")) for r, record in enumerate(records)]
        texts = [(r, value) for r, value in found if isinstance(value, str)]
        result = full_matches(
            rule.regex, [value for _, value in texts], timeout=REGEX_TIMEOUT, max_slow=1
        )
        slow, skipped = set(result.timed_out), set(result.skipped)
        for k, matched in enumerate(result.matched):
            if matched or k in skipped:  # the request is refused for the slow value anyway
                continue
            r, value = texts[k]
            if k in slow:
                kind, message = (
                    "regex_timeout",
                    (
                        f"could not be checked against regex({rule.regex!r}) within "
                        f"{REGEX_TIMEOUT:g} s, so it is refused: the rule backtracks; simplify "
                        f"schema.columns.{rule.column}.regex (e.g. without lookarounds)"
                    ),
                )
            else:
                kind, message = "regex", f"does not match the rule regex({rule.regex!r})"
            problems.append(
                {
                    "record": r,
                    "field": rule.column,
                    "rule": kind,
                    "message": message,
                    "input": echo(value),
                }
            )
            if len(problems) >= MAX_PROBLEMS:
                return problems
    return problems


def to_frame(records: list[BaseModel], rules: list[FieldRule], model: TrainedModel) -> pd.DataFrame:
    """Validated records as a frame with the training dtypes (numbers float/int, text str)."""
    columns = [[getattr(record, f"f{i}") for record in records] for i in range(len(rules))]
    return columns_frame(columns, rules, model)


def columns_frame(
    columns: list[list[Any]], rules: list[FieldRule], model: TrainedModel
) -> pd.DataFrame:
    """Validated values by column (rules' order) as a frame with the training dtypes."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    background = model.background
    for rule, values in zip(rules, columns, strict=True):
        if rule.kind in ("float", "int") and rule.allowed is None:
            if rule.kind == "int" and None not in values:
                data[rule.column] = np.asarray(values, dtype=np.int64)
            else:
                data[rule.column] = np.asarray(values, dtype=np.float64)
        elif background is not None and rule.column in background.columns:
            dtype = background[rule.column].dtype
            try:
                data[rule.column] = pd.array(values, dtype=dtype)
            except (TypeError, ValueError):
                data[rule.column] = values
        else:
            data[rule.column] = values
    return pd.DataFrame(data, columns=[rule.column for rule in rules])
