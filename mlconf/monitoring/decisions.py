"""The alert rules' outcome in a monitoring run: the rules evaluated (a registered model
only), their triggers as the report shows them, and every failed delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlconf.config.monitoring import MonitoringConfig
    from mlconf.monitoring.drift import Alert
    from mlconf.store.model_registry import ModelVersion


def decide(
    alerts: list[Alert],
    config: MonitoringConfig,
    registry: Any,
    model_ref: str,
    version: ModelVersion | None,
) -> list[dict[str, Any]]:
    """The alert rules and their triggers (notify, retrain, ...); a registered model only."""
    from mlconf.monitoring.rules import evaluate_rules
    from mlconf.monitoring.sections import as_plain

    if version is None:
        return []
    return evaluate_rules(alerts, as_plain(config), registry, model_ref)


def decisions_section(
    decisions: list[dict[str, Any]], version: ModelVersion | None
) -> dict[str, Any]:
    """The report's `decisions` section: one line per rule, its actions as text."""
    return {
        "note": None if version else "rules run for registered models (NAME@ALIAS) only",
        "rules": [
            {
                "rule": d["rule"],
                "fired": d["fired"],
                "reason": d["reason"],
                "actions": "; ".join(action_text(a) for a in d["actions"]),
            }
            for d in decisions
        ],
    }


def action_text(action: dict[str, Any]) -> str:
    if not action["ok"]:
        return f"{action['trigger']} failed: {action['error'].splitlines()[0]}"
    result = action["result"]
    if action["trigger"] == "retrain" and isinstance(result, dict):
        return f"retrain: {result.get('decision')} ({result.get('why')})"
    failed = _failed_sends(action)
    if failed:
        return f"{action['trigger']}: " + "; ".join(
            f"{f['notifier']} failed: {f['error'].splitlines()[0]}" for f in failed
        )
    return f"{action['trigger']}: ok"


def _failed_sends(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The notifiers that could not deliver, from a notify-like trigger's result."""
    result = action.get("result")
    sent = result.get("sent") if isinstance(result, dict) else None
    return [s for s in sent or [] if isinstance(s, dict) and not s.get("ok", True)]


def delivery_failures(decisions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every trigger that failed and every notification that was not delivered (a webhook
    answering 4xx, or still failing after its retries): {rule, action, error}."""
    out = []
    for decision in decisions:
        for action in decision["actions"]:
            if not action["ok"]:
                out.append(
                    {
                        "rule": decision["rule"],
                        "action": action["trigger"],
                        "error": action["error"],
                    }
                )
            for failed in _failed_sends(action):
                out.append(
                    {
                        "rule": decision["rule"],
                        "action": f"{action['trigger']} {failed.get('notifier')}",
                        "error": str(failed.get("error")),
                    }
                )
    return out
