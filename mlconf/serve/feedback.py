"""`POST /feedback`: the true outcome of an earlier prediction, checked before it is stored.

An outcome is checked against the model version that made the prediction (the name and
version the prediction log holds for its id), not against whatever is served now: one of
that version's classes in the class's own JSON type (so `1`, `true` or `"Benign"` are not
the class `"benign"`), or a finite number for a regression (not a string, not a boolean).
Feedback for a prediction of another model is refused, so that one client cannot put labels
into another model's monitoring. What is stored is the class itself (`1.0` sent for the
class `1` is stored as `1`), so `mlconf monitor` reads back exactly the model's classes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mlconf.serve.errors import RequestError, echo, shorten

ID_CHARS = 64
SHOWN_CLASSES = 20


@dataclass(frozen=True)
class OutcomeRule:
    """What outcomes one model version accepts."""

    name: str
    version: str
    task: str
    classes: tuple[Any, ...] = ()

    def check(self, outcome: Any) -> Any:
        """The outcome as it is stored; 422 naming the field and the rule otherwise."""
        if self.task == "classification":
            for label in self.classes:
                if _same_label(outcome, label):
                    return label
            shown = ", ".join(_json(c) for c in self.classes[:SHOWN_CLASSES])
            if len(self.classes) > SHOWN_CLASSES:
                shown += f", ... ({len(self.classes) - SHOWN_CLASSES} more)"
            raise _refused(
                outcome,
                "class",
                f"{_described(outcome)} is not one of the classes of {self.model}, which made "
                f"this prediction: {shown} (send one as written: case and JSON type count)",
                allowed=list(self.classes[:SHOWN_CLASSES]),
            )
        if isinstance(outcome, bool) or not isinstance(outcome, int | float):
            raise _refused(
                outcome,
                "number",
                f"{_described(outcome)} is not a number, but {self.model} is a regression: "
                "send the true value as a JSON number",
            )
        if not _finite(outcome):
            raise _refused(
                outcome,
                "finite",
                f"{shorten(str(outcome), 40)} is not a finite number (past 1.8e308 a JSON "
                "number reads as infinity)",
            )
        return outcome

    @property
    def model(self) -> str:
        return f"model '{self.name}' version {self.version}"


def outcome_rule(name: str, version: str, schema: dict[str, Any]) -> OutcomeRule | None:
    """The rule from a manifest (or a registry version's schema); None if it lacks the task."""
    task = schema.get("task")
    classes = schema.get("classes") or []
    if task not in ("classification", "regression") or (task == "classification" and not classes):
        return None
    return OutcomeRule(name, version, str(task), tuple(classes))


def parse(body: Any) -> tuple[str, Any]:
    """(prediction_id, outcome) from the body; 422 naming every field that is wrong."""
    if not isinstance(body, dict):
        raise RequestError(
            422,
            "validation",
            'the body must be a JSON object: {"prediction_id": ..., "outcome": ...}',
            [{"field": None, "rule": "type", "message": f"got {_json_type(body)}"}],
        )
    problems = []
    prediction_id = body.get("prediction_id")
    if "prediction_id" not in body:
        problems.append(("prediction_id", "missing", "send the id /predict returned"))
    elif not isinstance(prediction_id, str):
        problems.append(
            ("prediction_id", "type", f"must be a string, got {_json_type(prediction_id)}")
        )
    elif not 1 <= len(prediction_id) <= ID_CHARS:
        problems.append(
            (
                "prediction_id",
                "length",
                f"must have 1 to {ID_CHARS} characters, got {len(prediction_id)}",
            )
        )
    if "outcome" not in body:
        problems.append(("outcome", "missing", "send the true outcome"))
    elif body["outcome"] is None:
        problems.append(("outcome", "required", "outcome is null: send the true outcome"))
    if problems:
        raise RequestError(
            422,
            "validation",
            "; ".join(f"{field}: {message}" for field, _, message in problems),
            [
                {"field": field, "rule": rule, "message": message, "input": echo(body.get(field))}
                for field, rule, message in problems
            ],
        )
    return str(prediction_id), body["outcome"]


def _same_label(outcome: Any, label: Any) -> bool:
    """The same class in the same JSON type: `1` is not `"1"`, `true` is not `1`."""
    if isinstance(label, bool) or isinstance(outcome, bool):
        return isinstance(label, bool) and isinstance(outcome, bool) and label == outcome
    if isinstance(label, int | float):
        return isinstance(outcome, int | float) and outcome == label
    if isinstance(label, str):
        return isinstance(outcome, str) and outcome == label
    return bool(outcome == label)


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int past float's range: monitoring reads outcomes as floats
        return False


def _refused(outcome: Any, rule: str, message: str, **extra: Any) -> RequestError:
    item = {"field": "outcome", "rule": rule, "message": message, "input": echo(outcome), **extra}
    return RequestError(422, "validation", f"outcome: {message}", [item])


def _described(outcome: Any) -> str:
    return f"{shorten(_json(outcome), 60)} ({_json_type(outcome)})"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
