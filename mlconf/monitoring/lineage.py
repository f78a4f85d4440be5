"""Lineage: a model's history in one view, from the registry's versions and audit trail.

Each version with its run folder, data fingerprints, parent version and aliases, and the
events that concern it: registration, promotions and rollbacks, and retrain decisions
with their reason and numbers (audit action `retrain`, details JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlconf.store.model_registry import ModelRegistry


def lineage(registry: ModelRegistry, name: str) -> list[dict[str, Any]]:
    """One entry per version, oldest first, with the audit events about it."""
    versions = registry.versions(name)
    events = registry.audit(name)
    out = []
    for v in versions:
        about = [e for e in events if v.version in (e["to_version"], e["from_version"])]
        out.append(
            {
                "version": v.version,
                "parent": v.parent_version,
                "aliases": list(v.aliases),
                "status": v.status,
                "created_at": v.created_at,
                "run_dir": str(v.run_dir),
                "fingerprints": {
                    source: str(fp.get("sha256", ""))[:16] for source, fp in v.fingerprints.items()
                },
                "primary_metric": v.metrics.get("primary_metric"),
                "test": (v.metrics.get("test") or {}).get(v.metrics.get("primary_metric") or ""),
                "events": [_event(e, v.version) for e in about],
            }
        )
    return out


def _event(entry: dict[str, Any], version: int) -> dict[str, Any]:
    details = entry.get("details") or {}
    action = entry["action"]
    if action == "retrain":
        role = "retrained into" if entry["from_version"] == version else "retrained from"
        text = (
            f"retrain decision ({details.get('decision', '?')}): {details.get('why', '')}; "
            f"reason: {details.get('reason', '-')}"
        )
        if entry["to_version"] is None or entry["from_version"] == entry["to_version"]:
            role = "retrain attempt"
        return {
            "at": entry["at"],
            "who": entry["who"],
            "action": action,
            "role": role,
            "text": text,
        }
    moved = (
        f"{entry.get('alias') or ''} {entry['from_version'] or '-'} -> {entry['to_version'] or '-'}"
    )
    return {"at": entry["at"], "who": entry["who"], "action": action, "role": action, "text": moved}
