"""The records of a /predict or /explain request: one object or a bounded list, each
validated against the model's request model and its regex rules; 4xx naming what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlconf.serve.errors import RequestError, echo
from mlconf.serve.loader import Loaded

# The OpenAPI schema of the body: the record's columns depend on the model being served.
RECORDS_SCHEMA = {
    "description": "One record (an object with the model's input columns) or a list of "
    "records. GET /model lists the columns and their rules.",
}


def _records(body: Any, max_records: int) -> list[Any]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        if not body:
            raise RequestError(
                422, "empty", "the list of records is empty", "send at least one record"
            )
        if len(body) > max_records:
            raise RequestError(
                413,
                "too_many_records",
                f"{len(body)} records in one request; at most {max_records} are accepted",
                "split the records over several requests (deploy.serve.max_records)",
            )
        return body
    raise RequestError(
        422,
        "validation",
        "the body must be a JSON object (one record) or an array of objects",
        [{"field": None, "rule": "type", "message": f"got {type(body).__name__}"}],
    )


@dataclass(frozen=True)
class Validated:
    """The valid records of a request, by column in the model's input order."""

    columns: list[list[Any]]
    size: int
    # the request's own records when the fast check took every value as it was, else None
    unchanged: list[Any] | None = None

    def dicts(self, names: list[str]) -> list[dict[str, Any]]:
        """The records as {column: value}, as the prediction log stores them: a record the
        fast check took unchanged and that holds exactly these columns is used as it is
        (no copy per record on the request path)."""
        exact = frozenset(names)
        rows = zip(*self.columns, strict=True)
        if self.unchanged is None:
            return [dict(zip(names, row, strict=True)) for row in rows]
        return [
            record if record.keys() == exact else dict(zip(names, row, strict=True))
            for record, row in zip(self.unchanged, rows, strict=True)
        ]


def validate_records(loaded: Loaded, body: Any, max_records: int) -> Validated:
    """The records' values by column; 422 naming each bad field and rule (the request
    model's answer: a fast check takes only the records it would accept unchanged)."""
    records = _records(body, max_records)
    found = loaded.validator.checked(records) if loaded.validator is not None else None
    if found is not None:
        columns, unchanged = found
        return Validated(columns, len(records), records if unchanged else None)
    validated = _validate_with_model(loaded, records)
    columns = [[getattr(r, f"f{i}") for r in validated] for i in range(len(loaded.rules))]
    return Validated(columns, len(records))


def _validate_with_model(loaded: Loaded, records: list[Any]) -> list[Any]:
    """Pydantic models for the records; 422 naming each bad field and rule."""
    from pydantic import ValidationError

    from mlconf.serve.schema import text_rule_problems

    try:
        validated = loaded.adapter.validate_python(records)
    except ValidationError as exc:
        raise RequestError(
            422,
            "validation",
            f"{exc.error_count()} invalid value(s) in the request; see detail",
            [_problem(error) for error in exc.errors(include_url=False)[:50]],
        ) from None
    problems = text_rule_problems(validated, loaded.rules)
    if problems:
        raise RequestError(
            422,
            "validation",
            f"{len(problems)} value(s) break the schema's regex rules; see detail",
            problems,
        )
    return validated


def _problem(error: Any) -> dict[str, Any]:
    """One pydantic error as {record, field, rule, message, input}."""
    loc = list(error["loc"])
    index = loc.pop(0) if loc and isinstance(loc[0], int) else None
    item: dict[str, Any] = {
        "record": index,
        "field": ".".join(str(part) for part in loc) or None,
        "rule": error["type"],
        "message": error["msg"],
    }
    if error["type"] not in ("missing", "model_type") and "input" in error:
        item["input"] = echo(error["input"])
    return item
