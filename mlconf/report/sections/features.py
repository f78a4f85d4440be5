"""The features section: column sets and their steps, derived columns, the model's inputs,
and which sensitive columns were kept out."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, rows_of


def features_section(config: dict[str, Any], manifest: Any) -> dict[str, Any]:
    features = config.get("features") or {}
    data = config.get("data") or {}
    sets = []
    for name, spec in (features.get("column_sets") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        picked = fmt(spec.get("columns")) if spec.get("columns") else spec.get("select", "-")
        steps = [s.get("name", "?") for s in spec.get("steps") or [] if isinstance(s, dict)]
        sets.append((name, picked, " -> ".join(steps) or "passed through"))
    manifest = manifest if isinstance(manifest, dict) else {}
    inputs = [str(c) for c in manifest.get("input_columns") or []]
    shown, more = rows_of(inputs)
    sensitive = [
        s for s in ((config.get("fairness") or {}).get("sensitive") or []) if isinstance(s, dict)
    ]
    return {
        "sensitive_out": fmt([s.get("column") for s in sensitive if not s.get("use_as_feature")])
        or "none",
        "sensitive_in": fmt([s.get("column") for s in sensitive if s.get("use_as_feature")])
        or "none",
        "sets": sets,
        "derived": [(k, str(v)) for k, v in (features.get("derived") or {}).items()],
        "interactions": _spec_name(features.get("interactions")),
        "selection": _spec_name(features.get("selection")),
        "remainder": features.get("remainder", "drop"),
        "id_columns": fmt(data.get("id_columns") or []) or "none",
        "drop_columns": fmt(data.get("drop_columns") or []) or "none",
        "inputs": shown,
        "more_inputs": more,
        "input_count": len(inputs),
        "manifest": manifest != {},
    }


def _spec_name(spec: Any) -> str:
    if isinstance(spec, dict) and spec.get("name"):
        params = spec.get("params") or {}
        return f"{spec['name']} ({fmt(params)})" if params else str(spec["name"])
    return "none"
