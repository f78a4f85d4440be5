"""Built-in triggers: what a fired rule does. Each is `fn(event, **options) -> dict`.

`event` (mlconf.monitoring.rules.TriggerEvent) carries the rule, its alerts, the model and
two services the monitor provides, so a trigger never imports the monitor itself:
`event.notify(payload)` sends to every configured notifier and `event.retrain(**options)`
runs the retrain loop. A project registers its own trigger the same way (e.g. open a
ticket) and names it in a rule's `then:` list.
"""

from __future__ import annotations

from typing import Any

from mlconf.core.component_registry import register


@register("trigger", "notify")
def notify(event: Any, **options: Any) -> dict[str, Any]:
    """Send the rule's alerts to the configured notifiers (`only: [names]` to pick some)."""
    return {"sent": event.notify(event.payload(), only=options.get("only"))}


@register("trigger", "retrain")
def retrain(event: Any, **options: Any) -> dict[str, Any]:
    """Retrain on reference data plus new feedback; promote only a better, fair challenger."""
    return dict(event.retrain(**options))
