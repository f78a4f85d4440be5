"""Search spaces written in YAML, checked before the first trial and sampled with Optuna.

A space maps parameter names to specs::

    n_estimators: {type: int, low: 50, high: 500, step: 50}
    learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
    booster: {type: categorical, choices: [gbtree, dart]}
    rate_drop: {type: float, low: 0.0, high: 0.3, when: {booster: dart}}
    objective: {type: fixed, value: "binary:logistic"}

`when` makes a parameter exist only while each named parameter has one of the listed
values (a scalar means a one-item list). To match a choice that is itself a list, wrap
it: `when: {layers: [[64, 32]]}`.

Every mistake is reported by `parse_space` before a trial runs, because a typo found at
trial 37 of an overnight study wastes the night. Optuna is imported only when sampling,
so reading a config stays cheap.
"""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial

PARAM_TYPES: tuple[str, ...] = ("int", "float", "categorical", "fixed")

_KEYS: dict[str, tuple[str, ...]] = {
    "int": ("type", "low", "high", "step", "log", "when"),
    "float": ("type", "low", "high", "step", "log", "when"),
    "categorical": ("type", "choices", "when"),
    "fixed": ("type", "value", "when"),
}

_EXAMPLES: dict[str, str] = {
    "int": "{type: int, low: 2, high: 10}",
    "float": "{type: float, low: 0.01, high: 0.3, log: true}",
    "categorical": "{type: categorical, choices: [gbtree, dart]}",
    "fixed": "{type: fixed, value: 100}",
}

# What Optuna can store natively; other choices (lists, mappings) are stored as JSON text.
_PRIMITIVE = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Param:
    """One validated parameter: how to sample it and when it exists."""

    name: str
    type: str
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def conditional(self) -> bool:
        return bool(self.when)

    @property
    def _stored_choices(self) -> tuple[Any, ...]:
        """Choices as Optuna stores them: as-is when primitive, else as JSON text."""
        if all(type(c) in _PRIMITIVE for c in self.choices):
            return self.choices
        return tuple(_encode(c) for c in self.choices)

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter exists, given the values sampled so far."""
        return all(
            other in values and _one_of(values[other], allowed)
            for other, allowed in self.when.items()
        )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.type == "int":
            if not (isinstance(self.low, int) and isinstance(self.high, int)):
                raise RuntimeError("internal error: an int parameter without int bounds")
            step = int(self.step) if self.step is not None else 1
            return IntDistribution(self.low, self.high, log=self.log, step=step)
        if self.type == "float":
            if not (self.low is not None and self.high is not None):
                raise RuntimeError("internal error: a float parameter without bounds")
            return FloatDistribution(
                float(self.low), float(self.high), log=self.log, step=self.step
            )
        return CategoricalDistribution(self._stored_choices)

    def suggest(self, trial: BaseTrial) -> Any:
        if self.type == "int":
            if not (isinstance(self.low, int) and isinstance(self.high, int)):
                raise RuntimeError("internal error: an int parameter without int bounds")
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(self.name, self.low, self.high, step=step, log=self.log)
        if self.type == "float":
            if not (self.low is not None and self.high is not None):
                raise RuntimeError("internal error: a float parameter without bounds")
            return trial.suggest_float(
                self.name, float(self.low), float(self.high), step=self.step, log=self.log
            )
        # `fixed` is a one-choice categorical so that it is recorded with the trial.
        return self.decode(trial.suggest_categorical(self.name, self._stored_choices))

    def decode(self, stored: Any) -> Any:
        """The value a model receives for what Optuna stored (JSON text back to a list)."""
        if self.type not in ("categorical", "fixed"):
            return stored
        for choice, kept in zip(self.choices, self._stored_choices, strict=True):
            if kept == stored and type(kept) is type(stored):
                return choice
        return stored


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space: its parameters in declaration and in sampling order."""

    params: dict[str, Param]
    order: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter name, in the order the config declares them."""
        return tuple(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def suggest(self, trial: BaseTrial) -> dict[str, Any]:
        """The parameters of one trial, inactive conditionals left out, in declaration order.

        Parameters are asked for unconditional first, then conditionals after the ones they
        depend on, so a `when` always sees the values it tests.
        """
        values: dict[str, Any] = {}
        for name in self.order:
            param = self.params[name]
            if param.active(values):
                values[name] = param.suggest(trial)
        return {name: values[name] for name in self.params if name in values}

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna distributions of every parameter (e.g. for `study.enqueue_trial`)."""
        return {name: param.distribution() for name, param in self.params.items()}

    def decode(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """Model parameters from stored trial params (e.g. `study.best_params`).

        Choices that are lists or mappings are stored as JSON text; this turns them back.
        Names outside the space pass through unchanged.
        """
        return {
            name: self.params[name].decode(value) if name in self.params else value
            for name, value in stored.items()
        }


def parse_space(spec: Mapping[str, Any], *, where: str = "search.space") -> SearchSpace:
    """Validate a YAML search space and build it; every mistake raises MlconfError."""
    if not isinstance(spec, Mapping):
        raise MlconfError(
            f"a search space must be a mapping of parameter name to spec, "
            f"got {type(spec).__name__}",
            where=where,
            fix=f"write e.g. `max_depth: {_EXAMPLES['int']}`",
        )
    if not spec:
        raise MlconfError(
            "the search space is empty, so there is nothing to tune",
            where=where,
            fix=f"add at least one parameter, e.g. `max_depth: {_EXAMPLES['int']}`",
        )
    params: dict[str, Param] = {}
    for name, body in spec.items():
        if not isinstance(name, str) or not name:
            raise MlconfError(
                f"parameter names must be non-empty text, got {name!r}",
                where=where,
                fix="quote the name in the YAML",
            )
        params[name] = _parse_param(name, _plain(body), f"{where}.{name}")
    for param in params.values():
        _check_when(param, params, f"{where}.{param.name}")
    _check_cycles(params, where)
    return SearchSpace(params=params, order=_sampling_order(params))


def _parse_param(name: str, body: Any, where: str) -> Param:
    if not isinstance(body, Mapping):
        raise MlconfError(
            f"expected a mapping such as {_EXAMPLES['int']}, got {body!r}",
            where=where,
            fix=f"write one of: {'; '.join(_EXAMPLES.values())}",
        )
    if "type" not in body:
        raise MlconfError(
            "missing key 'type'",
            where=where,
            fix=f"add `type:` with one of {', '.join(PARAM_TYPES)}",
        )
    kind = body["type"]
    if kind not in PARAM_TYPES:
        raise MlconfError(
            f"unknown type {kind!r}.{did_you_mean(str(kind), PARAM_TYPES)}",
            where=where,
            fix=f"use one of: {', '.join(PARAM_TYPES)}",
        )
    allowed = _KEYS[kind]
    for key in body:
        if key not in allowed:
            owners = [t for t in PARAM_TYPES if key in _KEYS[t]]
            hint = f" ('{key}' belongs to type {' / '.join(owners)})" if owners else ""
            raise MlconfError(
                f"unknown key {key!r} for a {kind} parameter.{did_you_mean(str(key), allowed)}"
                f"{hint}",
                where=where,
                fix=f"a {kind} parameter takes: {', '.join(allowed)}",
            )
    when = _parse_when(body.get("when"), where)
    if kind == "categorical":
        return Param(name, kind, choices=_parse_choices(body, where), when=when)
    if kind == "fixed":
        if "value" not in body:
            raise MlconfError(
                "missing key 'value'", where=where, fix=f"write e.g. {_EXAMPLES['fixed']}"
            )
        value = body["value"]
        _encode(value, where=where, key="value")
        return Param(name, kind, choices=(value,), when=when)
    return _parse_range(name, kind, body, when, where)


def _parse_range(
    name: str, kind: str, body: Mapping[str, Any], when: dict[str, tuple[Any, ...]], where: str
) -> Param:
    integer = kind == "int"
    for key in ("low", "high"):
        if key not in body:
            raise MlconfError(
                f"missing key {key!r}", where=where, fix=f"write e.g. {_EXAMPLES[kind]}"
            )
    low = _number(body["low"], "low", integer=integer, where=where)
    high = _number(body["high"], "high", integer=integer, where=where)
    if low >= high:
        raise MlconfError(
            f"'low' ({low}) must be below 'high' ({high})",
            where=where,
            fix="swap them, or use `type: fixed` for a constant",
        )
    log = body.get("log", False)
    if not isinstance(log, bool):
        raise MlconfError(
            f"'log' must be true or false, got {log!r}", where=where, fix="write `log: true`"
        )
    if log and low <= 0:
        raise MlconfError(
            f"'log: true' needs 'low' above 0, got {low}",
            where=where,
            fix="raise 'low' above 0, or drop `log: true`",
        )
    step = body.get("step")
    if step is not None:
        step = _number(step, "step", integer=integer, where=where)
        if step <= 0:
            raise MlconfError(
                f"'step' must be above 0, got {step}", where=where, fix="use a positive step"
            )
        if log and not (integer and step == 1):
            raise MlconfError(
                "'step' cannot be combined with 'log: true'",
                where=where,
                fix="drop 'step' (log sampling is continuous) or drop `log: true`",
            )
        reachable = _last_on_grid(low, high, step)
        if reachable != high:
            raise MlconfError(
                f"'high' ({high}) is not reachable from 'low' ({low}) in steps of {step}",
                where=where,
                fix=f"set 'high' to {reachable}, or change 'step'",
            )
    if integer and step == 1:
        step = None
    return Param(name, kind, low=low, high=high, step=step, log=log, when=when)


def _number(value: Any, key: str, *, integer: bool, where: str) -> int | float:
    kind = "whole number" if integer else "number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ""
        if isinstance(value, str):
            try:
                float(value)
                hint = " (YAML reads forms like 1e-3 as text; write 1.0e-3 or 0.001)"
            except ValueError:
                pass
        raise MlconfError(
            f"{key!r} must be a {kind}, got {value!r}{hint}",
            where=where,
            fix=f"write a plain {kind} for '{key}'",
        )
    if not math.isfinite(value):
        raise MlconfError(
            f"{key!r} must be finite, got {value}", where=where, fix=f"write a finite '{key}'"
        )
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise MlconfError(
                    f"{key!r} of an int parameter must be a whole number, got {value}",
                    where=where,
                    fix="round it, or use `type: float`",
                )
            return int(value)
        return value
    return float(value)


def _last_on_grid(low: int | float, high: int | float, step: int | float) -> int | float:
    """The largest low + k*step not above high, computed in decimal as Optuna does."""
    if isinstance(low, int) and isinstance(high, int) and isinstance(step, int):
        return (high - low) // step * step + low
    d_low, d_high, d_step = (decimal.Decimal(str(v)) for v in (low, high, step))
    if (d_high - d_low) % d_step == 0:
        return high
    return float((d_high - d_low) // d_step * d_step + d_low)


def _parse_choices(body: Mapping[str, Any], where: str) -> tuple[Any, ...]:
    if "choices" not in body:
        raise MlconfError(
            "missing key 'choices'", where=where, fix=f"write e.g. {_EXAMPLES['categorical']}"
        )
    choices = body["choices"]
    if not isinstance(choices, list) or not choices:
        raise MlconfError(
            f"'choices' must be a non-empty list, got {choices!r}",
            where=where,
            fix="write `choices: [a, b]`, or use `type: fixed` for a single value",
        )
    seen: set[str] = set()
    for choice in choices:
        key = _encode(choice, where=where, key="choices")
        if key in seen:
            raise MlconfError(
                f"'choices' lists {choice!r} twice", where=where, fix="remove the duplicate"
            )
        seen.add(key)
    return tuple(choices)


def _parse_when(when: Any, where: str) -> dict[str, tuple[Any, ...]]:
    if when is None:
        return {}
    if not isinstance(when, Mapping) or not when:
        raise MlconfError(
            f"'when' must map parameter names to values, got {when!r}",
            where=where,
            fix="write e.g. `when: {booster: dart}` or `when: {booster: [dart, gblinear]}`",
        )
    parsed: dict[str, tuple[Any, ...]] = {}
    for other, allowed in when.items():
        values = tuple(allowed) if isinstance(allowed, list) else (allowed,)
        if not values:
            raise MlconfError(
                f"'when' gives no values for {other!r}, so the parameter could never exist",
                where=where,
                fix=f"list the values of '{other}' for which this parameter is used",
            )
        parsed[str(other)] = values
    return parsed


def _check_when(param: Param, params: Mapping[str, Param], where: str) -> None:
    """Every `when` must name a parameter and values it can take, or it never holds."""
    for other, allowed in param.when.items():
        if other not in params:
            raise MlconfError(
                f"'when' names unknown parameter {other!r}.{did_you_mean(other, params)}",
                where=where,
                fix=f"name one of: {', '.join(p for p in params if p != param.name)}",
            )
        target = params[other]
        for value in allowed:
            if _possible(target, value):
                continue
            if target.type in ("categorical", "fixed"):
                shown = [json.dumps(c) if not isinstance(c, str) else c for c in target.choices]
                guess = did_you_mean(str(value), shown)
                raise MlconfError(
                    f"'when' tests {other} = {value!r}, which is not one of its choices.{guess}",
                    where=where,
                    fix=f"use one of: {', '.join(shown)}",
                )
            raise MlconfError(
                f"'when' tests {other} = {value!r}, which {other} never takes "
                f"({target.type} in [{target.low}, {target.high}]"
                f"{f', step {target.step}' if target.step is not None else ''})",
                where=where,
                fix=f"use a value {other} can take",
            )


def reachable(param: Param, value: Any) -> bool:
    """Whether `param` can take `value` (a portfolio entry, a model's default value)."""
    return _possible(param, value)


def _possible(target: Param, value: Any) -> bool:
    if target.type in ("categorical", "fixed"):
        return any(_one_of(value, (c,)) for c in target.choices)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if not (target.low is not None and target.high is not None):
        raise RuntimeError("internal error: a range without bounds")
    if not target.low <= value <= target.high:
        return False
    if target.type == "int":
        step = target.step or 1
        return float(value).is_integer() and (int(value) - target.low) % step == 0
    if target.step is not None:
        return _last_on_grid(target.low, value, target.step) == value
    return True


def _check_cycles(params: Mapping[str, Param], where: str) -> None:
    """Reject `when` chains that loop, since no parameter in the loop could be sampled first."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loop = [*path[path.index(name) :], name]
            raise MlconfError(
                f"'when' conditions form a cycle: {' -> '.join(loop)}",
                where=f"{where}.{name}",
                fix="make at least one parameter in the cycle unconditional",
            )
        if name in done:
            return
        for other in params[name].when:
            visit(other, [*path, name])
        done.add(name)

    for name in params:
        visit(name, [])


def _sampling_order(params: Mapping[str, Param]) -> tuple[str, ...]:
    """Unconditional parameters in declaration order, then each conditional after its inputs."""
    order = [name for name, p in params.items() if not p.conditional]
    placed = set(order)
    pending = [name for name, p in params.items() if p.conditional]
    while pending:
        ready = next(n for n in pending if all(o in placed for o in params[n].when))
        order.append(ready)
        placed.add(ready)
        pending.remove(ready)
    return tuple(order)


def _one_of(value: Any, allowed: Sequence[Any]) -> bool:
    # bool is an int in Python; keep `true` from matching 1.
    return any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed)


def _encode(value: Any, *, where: str = "", key: str = "") -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise MlconfError(
            f"{key!r} holds {value!r}, which is not a plain YAML value ({exc})",
            where=where,
            fix="use numbers, text, true/false, null, or lists and mappings of them",
        ) from exc


def _plain(value: Any) -> Any:
    """Copy OmegaConf containers into dicts and lists so choices are plain values."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
