"""Request validation without building a pydantic object per record.

Built once per model from its field rules, `FastValidator.columns` accepts only values
the request model accepts unchanged (a float, a finite number in range, an int in range,
text, a bool, one of the allowed values with its exact type, null where nullable) and
returns them by column. Anything else, including every invalid record, returns None, and
the caller validates with the request model, which gives the per-field 422 answer; so
the answers to bad requests are exactly those of the request model.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from mlconf.serve.schema import INT64

if TYPE_CHECKING:
    from mlconf.serve.schema import FieldRule

Check = Callable[[Any], Any]  # the value the request model gives, or raises _UnsureError
# Ints up to this size become floats exactly (the request model turns them into floats).
EXACT_INT = 2**53


class _UnsureError(Exception):
    """The value needs the request model's judgement."""


def _bounded(rule: FieldRule, low: float, high: float) -> tuple[float, float]:
    low = low if rule.min is None else max(rule.min, low)
    return low, high if rule.max is None else min(rule.max, high)


def _float_check(rule: FieldRule) -> Check:
    low, high = _bounded(rule, -math.inf, math.inf)

    def check(value: Any) -> Any:
        kind = type(value)
        if kind is int and -EXACT_INT <= value <= EXACT_INT:
            value = float(value)
        elif kind is not float or not math.isfinite(value):
            raise _UnsureError
        if low <= value <= high:
            return value
        raise _UnsureError

    return check


def _int_check(rule: FieldRule) -> Check:
    low, high = _bounded(rule, INT64[0], INT64[1])

    def check(value: Any) -> Any:
        if type(value) is int and low <= value <= high:
            return value
        raise _UnsureError

    return check


def _type_check(wanted: type) -> Check:
    def check(value: Any) -> Any:
        if type(value) is wanted:
            return value
        raise _UnsureError

    return check


def _allowed_check(rule: FieldRule) -> Check:
    members = _members(rule) or {}

    def check(value: Any) -> Any:
        allowed = members.get(type(value))
        if allowed is not None and value in allowed:
            return value
        raise _UnsureError

    return check


def _check_of(rule: FieldRule) -> Check | None:
    if rule.allowed is not None:
        return _allowed_check(rule)
    if rule.kind == "float":
        return _float_check(rule)
    if rule.kind == "int":
        return _int_check(rule)
    if rule.kind == "str":
        return _type_check(str)
    if rule.kind == "bool":
        return _type_check(bool)
    return None  # "any": a union the request model resolves


def _bulk(rule: FieldRule) -> tuple[type, float, float] | None:
    """Float and int columns: all values of the one type within (finite) bounds pass as is."""
    if rule.allowed is not None:
        return None
    if rule.kind == "float":
        low, high = _bounded(rule, -math.inf, math.inf)
        return float, max(low, -sys.float_info.max), min(high, sys.float_info.max)
    if rule.kind == "int":
        return (int, *_bounded(rule, INT64[0], INT64[1]))
    return None


def _members(rule: FieldRule) -> dict[type, frozenset[Any] | None] | None:
    """Text, bool and allowed-value columns: a column of one type whose values are all
    allowed (any value, for None) passes as it is, in a set operation instead of a call per
    value."""
    if rule.allowed is not None:
        values = [str(v) if rule.kind == "str" else v for v in rule.allowed]
        kinds = {type(v) for v in values} & {str, int, float, bool}
        return {k: frozenset(v for v in values if type(v) is k) for k in kinds}
    if rule.kind == "str":
        return {str: None}
    if rule.kind == "bool":
        return {bool: None}
    return None


class FastValidator:
    """The request model's acceptance, for plainly valid records, as column lists."""

    def __init__(self, rules: list[FieldRule], extra_fields: str) -> None:
        self.names = [rule.column for rule in rules]
        checks = [_check_of(rule) for rule in rules]
        self.usable = all(c is not None for c in checks)
        self.checks: list[Check] = [c for c in checks if c is not None]
        self.nullable = [rule.nullable for rule in rules]
        self.known = frozenset(self.names)
        self.reject_extra = extra_fields == "reject"
        self.regex = [(i, rule.regex) for i, rule in enumerate(rules) if rule.regex is not None]
        # (type, low, high) of the columns a whole list is checked at once for
        self.bulk = [_bulk(rule) for rule in rules]
        self.members = [_members(rule) for rule in rules]

    def checked(self, records: list[Any]) -> tuple[list[list[Any]], bool] | None:
        """The records' values by column, and whether every value is the record's own
        (nothing converted); None when the request model must decide."""
        if not self.usable or set(map(type, records)) != {dict}:
            return None
        if self.reject_extra and not all(r.keys() <= self.known for r in records):
            return None
        out: list[list[Any]] = []
        unchanged = True
        try:
            for j, name in enumerate(self.names):
                values = list(map(itemgetter(name), records))
                column = self._column(j, values)
                unchanged = unchanged and column is values
                out.append(column)
        except (KeyError, _UnsureError):
            return None
        return (out, unchanged) if self._regex_ok(out) else None

    def _column(self, j: int, values: list[Any]) -> list[Any]:
        """One column's values as the request model gives them; _UnsureError otherwise."""
        present = values
        if None in values:
            if not self.nullable[j]:
                raise _UnsureError
            present = [v for v in values if v is not None]
        fast = self.bulk[j]
        if fast is not None and present and set(map(type, present)) == {fast[0]}:
            low, high = fast[1], fast[2]
            if low <= min(present) and max(present) <= high:
                return values
            raise _UnsureError
        members = self.members[j]
        if members is not None and present:
            kinds = set(map(type, present))
            if len(kinds) == 1 and (kind := kinds.pop()) in members:
                allowed = members[kind]
                if allowed is None or allowed.issuperset(present):
                    return values
        check = self.checks[j]
        checked = [None if v is None else check(v) for v in values]
        return values if all(map(operator.is_, checked, values)) else checked

    def _regex_ok(self, columns: list[list[Any]]) -> bool:
        from mlconf.core.regex_rules import full_matches
        from mlconf.serve.schema import REGEX_TIMEOUT

        for j, pattern in self.regex:
            texts = [v for v in columns[j] if isinstance(v, str)]
            result = full_matches(pattern, texts, timeout=REGEX_TIMEOUT, max_slow=1)
            if not all(result.matched) or result.timed_out or result.skipped:
                return False
        return True
