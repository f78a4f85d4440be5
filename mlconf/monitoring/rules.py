"""Alert rules: when a monitor run's alerts (or the clock, or new labels) fire triggers.

A rule in `monitoring.rules`:

    - name: retrain-on-drift      # unique; defaults to `when`
      when: drift                 # an alert kind (drift, performance, health, quality,
                                  # fairness, security), or schedule, or labels
      level: alert                # the lowest alert level that fires it (warn | alert)
      every: 24h                  # schedule: fire when this long has passed since it last fired
      min_labels: 200             # labels: fire once this many new labels arrived since the
                                  # model's last retrain decision (or its registration)
      cooldown: 6h                # optional: do not fire again within this time
      then: [notify, {name: retrain, margin: 0.01}]   # registered `trigger`s and options

`evaluate_rules` returns one decision per rule (fired or not, why, what each trigger did);
when a rule fires is kept in the `monitor_rule_state` table of the registry database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlconf.config.monitor_loop import DEFAULT_RULES
from mlconf.core.errors import MlconfError, did_you_mean
from mlconf.monitoring.performance import seconds

if TYPE_CHECKING:
    import sqlalchemy as sa

    from mlconf.store.model_registry import ModelRegistry

LEVELS = {"warn": 1, "alert": 2}
SPECIAL = ("schedule", "labels")


def as_dict(alert: Any) -> dict[str, Any]:
    """An Alert object (kind, level, message, numbers) or a dict -> a dict."""
    if isinstance(alert, dict):
        return {
            "kind": alert.get("kind"),
            "level": alert.get("level", "alert"),
            "message": alert.get("message", ""),
            "numbers": dict(alert.get("numbers") or {}),
        }
    return {
        "kind": alert.kind,
        "level": alert.level,
        "message": alert.message,
        "numbers": dict(alert.numbers or {}),
    }


@dataclass
class TriggerEvent:
    """What a trigger gets: the rule, its alerts, the model, and the monitor's services."""

    rule: dict[str, Any]
    alerts: list[dict[str, Any]]
    model_ref: str
    registry: ModelRegistry
    settings: dict[str, Any]
    notify: Callable[..., list[dict[str, Any]]]
    retrain_fn: Callable[..., dict[str, Any]] | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def payload(self) -> dict[str, Any]:
        return {
            "rule": self.rule["name"],
            "when": self.rule["when"],
            "model": self.model_ref,
            "at": self.at,
            "alerts": self.alerts,
        }

    def retrain(self, **options: Any) -> dict[str, Any]:
        if self.retrain_fn is None:
            from mlconf.monitoring.retrain import retrain

            self.retrain_fn = retrain
        reason = f"rule '{self.rule['name']}' ({self.rule['when']})"
        alerts = "; ".join(a["message"] for a in self.alerts[:3])
        settings = {**(self.settings.get("retrain") or {}), **options}
        return self.retrain_fn(
            self.model_ref,
            registry=self.registry,
            settings=settings,
            reason=f"{reason}: {alerts}" if alerts else reason,
        )


def check_rules(rules: list[Any]) -> list[dict[str, Any]]:
    """Normalised rules; a wrong key names the rule and what is allowed."""
    from mlconf.core.component_registry import REGISTRY

    out = []
    for i, raw in enumerate(rules):
        where = f"config key monitoring.rules[{i}]"
        if not isinstance(raw, dict) or "when" not in raw:
            raise MlconfError("a rule needs at least `when:`", where=where, fix=_RULE_FIX)
        rule = {"level": "alert", "then": ["notify"], "cooldown": None, **raw}
        rule.setdefault("name", rule["when"])
        if rule["level"] not in LEVELS:
            raise MlconfError(
                f"unknown level '{rule['level']}'", where=f"{where}.level", fix="use warn or alert"
            )
        if rule["when"] == "schedule":
            seconds(rule.get("every", ""), f"{where}.every")
        if rule["when"] == "labels" and not int(rule.get("min_labels") or 0) > 0:
            raise MlconfError(
                "a labels rule needs min_labels >= 1", where=f"{where}.min_labels", fix=_RULE_FIX
            )
        actions = []
        for action in rule["then"]:
            entry = {"name": action} if isinstance(action, str) else dict(action)
            known = REGISTRY.names("trigger")
            if entry.get("name") not in known:
                raise MlconfError(
                    f"unknown trigger '{entry.get('name')}'."
                    f"{did_you_mean(str(entry.get('name')), known)}",
                    where=f"{where}.then",
                    fix=f"use one of: {', '.join(known)} (or register your own trigger)",
                )
            actions.append(entry)
        rule["then"] = actions
        out.append(rule)
    names = [r["name"] for r in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MlconfError(
            f"rule names must be unique: {', '.join(dupes)}",
            where="config key monitoring.rules",
            fix="give each rule its own `name:`",
        )
    return out


_RULE_FIX = (
    "write e.g. {when: drift, then: [notify]}, {when: schedule, every: 24h, then: [retrain]} "
    "or {when: labels, min_labels: 200, then: [retrain]}"
)


# -- state: when did a rule last fire ----------------------------------------------------------


def _state_table(engine: sa.Engine) -> sa.Table:
    """The table of mlconf.store.schema; the registry's engine (open_engine) made it."""
    from mlconf.store.schema import monitor_rule_state

    return monitor_rule_state


def last_fired(registry: ModelRegistry, model_name: str, rule: str) -> datetime | None:
    import sqlalchemy as sa

    table = _state_table(registry.engine)
    with registry.engine.connect() as conn:
        found = conn.execute(
            sa.select(table.c.fired_at).filter_by(model_name=model_name, rule=rule)
        ).scalar()
    return found


def _mark_fired(registry: ModelRegistry, model_name: str, rule: str, at: datetime) -> None:
    import sqlalchemy as sa

    table = _state_table(registry.engine)
    with registry.engine.connect() as conn, conn.begin():
        values = {"fired_at": at}
        done = conn.execute(
            sa.update(table).filter_by(model_name=model_name, rule=rule).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(sa.insert(table).values(model_name=model_name, rule=rule, **values))


def _parse(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def since_last_decision(registry: ModelRegistry, model_ref: str) -> datetime:
    """The last retrain decision for the model, else when its current version was registered."""
    version = registry.resolve(model_ref)
    decisions = [e for e in registry.audit(version.name) if e["action"] == "retrain"]
    return _parse(decisions[-1]["at"] if decisions else version.created_at)


def new_labels(registry: ModelRegistry, model_name: str, since: datetime) -> int:
    """Feedback rows for the model's predictions that arrived after `since`."""
    import sqlalchemy as sa

    from mlconf.store.schema import prediction_feedback as feedback
    from mlconf.store.schema import predictions

    query = (
        sa.select(sa.func.count())
        .select_from(feedback.join(predictions, feedback.c.prediction_id == predictions.c.id))
        .where(predictions.c.model_name == model_name)
        .where(feedback.c.created_at > since)
    )
    with registry.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


# -- evaluation ------------------------------------------------------------------------------


def _why(
    rule: dict[str, Any],
    alerts: list[dict[str, Any]],
    registry: ModelRegistry,
    model_ref: str,
    now: datetime,
) -> tuple[bool, str, list[dict[str, Any]]]:
    name = registry.resolve(model_ref).name
    when = rule["when"]
    if when == "schedule":
        every = seconds(rule["every"], "monitoring.rules[].every")
        last = last_fired(registry, name, rule["name"]) or since_last_decision(registry, model_ref)
        due = (now - last).total_seconds() >= every
        return (
            due,
            f"{'due' if due else 'not due'}: every {rule['every']}, last {last:%Y-%m-%d %H:%M}",
            [],
        )
    if when == "labels":
        base = since_last_decision(registry, model_ref)
        count = new_labels(registry, name, base)
        enough = count >= int(rule["min_labels"])
        return (
            enough,
            f"{count} new label(s) since {base:%Y-%m-%d %H:%M} (need {rule['min_labels']})",
            [],
        )
    wanted = LEVELS[rule["level"]]
    matched = [a for a in alerts if a["kind"] == when and LEVELS.get(a["level"], 2) >= wanted]
    if matched:
        return True, f"{len(matched)} {when} alert(s) at level {rule['level']} or above", matched
    return False, f"no {when} alert at level {rule['level']} or above", []


def evaluate_rules(
    alerts: list[Any],
    settings: dict[str, Any] | None,
    registry: ModelRegistry,
    model_ref: str,
    *,
    now: datetime | None = None,
    retrain_fn: Callable[..., dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Check every rule against the alerts and the clock; run the triggers of those that fire.

    Returns one decision per rule: {rule, when, fired, reason, alerts, actions: [{trigger,
    ok, result | error}]}. A failing trigger is recorded, never stops the others.
    """
    from mlconf.core.component_registry import get
    from mlconf.monitoring.notify import send

    settings = settings or {}
    rules = check_rules(list(settings.get("rules", DEFAULT_RULES)))
    now = now or datetime.now(UTC)
    found = [as_dict(a) for a in alerts]
    name = registry.resolve(model_ref).name
    decisions = []
    for rule in rules:
        fired, reason, matched = _why(rule, found, registry, model_ref, now)
        if fired and rule.get("cooldown"):
            last = last_fired(registry, name, rule["name"])
            wait = seconds(rule["cooldown"], "monitoring.rules[].cooldown")
            if last is not None and (now - last).total_seconds() < wait:
                fired, reason = (
                    False,
                    f"{reason}; in cooldown ({rule['cooldown']}) since {last:%H:%M}",
                )
        decision: dict[str, Any] = {
            "rule": rule["name"],
            "when": rule["when"],
            "fired": fired,
            "reason": reason,
            "alerts": len(matched),
            "actions": [],
        }
        if fired:
            _mark_fired(registry, name, rule["name"], now)
            event = TriggerEvent(
                rule=rule,
                alerts=matched
                or [{"kind": rule["when"], "level": "warn", "message": reason, "numbers": {}}],
                model_ref=model_ref,
                registry=registry,
                settings=settings,
                notify=lambda payload, only=None: send(payload, settings.get("notifiers"), only),
                retrain_fn=retrain_fn,
            )
            for action in rule["then"]:
                options = {k: v for k, v in action.items() if k != "name"}
                try:
                    result = get("trigger", action["name"]).factory(event, **options)
                    decision["actions"].append(
                        {"trigger": action["name"], "ok": True, "result": result}
                    )
                except MlconfError as exc:
                    decision["actions"].append(
                        {"trigger": action["name"], "ok": False, "error": exc.render()}
                    )
        decisions.append(decision)
    return decisions
