"""The at-a-glance section: the run's outcome in a few lines, drawn from the other sections."""

from __future__ import annotations

from typing import Any

from mlconf.report.sections.fairness import outcome


def glance_section(
    view: dict[str, Any], record: dict[str, Any], config: dict[str, Any], manifest: Any
) -> dict[str, Any]:
    m = view["metrics"]
    primary = next((r for r in m.get("rows", []) if r["primary"]), None)
    trained = (manifest.get("model") or {}) if isinstance(manifest, dict) else {}
    model = trained.get("name") or (config.get("model") or {}).get("name")
    statuses = [c["status"] for c in view["compliance"]]
    fair = view["fairness"]
    return {
        "status": record.get("status"),
        "model": model,
        "primary": primary,
        "passed": m.get("passed"),
        "statements": [c["statement"] for c in m.get("criteria", []) if c["statement"]],
        "threshold": m.get("threshold"),
        "top_features": view["interpretation"].get("top", []),
        "fairness": None if not fair["present"] else outcome(fair["passed"]),
        "rows": view["data"]["rows_loaded"],
        "warnings": [str(w) for w in record.get("warnings") or []],
        "compliance": {s: statuses.count(s) for s in ("pass", "fail", "not run")},
    }
