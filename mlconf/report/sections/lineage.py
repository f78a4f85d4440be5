"""The lineage section: what it takes to reproduce the run (seed, commit, versions, overrides,
the composed config with passwords hidden) and the model files' hashes."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, redact
from mlconf.report.run_files import RunFiles


def lineage_section(
    files: RunFiles, config: dict[str, Any], record: dict[str, Any], manifest: Any
) -> dict[str, Any]:
    git = record.get("git") if isinstance(record.get("git"), dict) else None
    overrides = files.yaml(".hydra/overrides.yaml")
    manifest = manifest if isinstance(manifest, dict) else {}
    return {
        "run_id": record.get("id"),
        "experiment": record.get("experiment"),
        "status": record.get("status"),
        "started": record.get("started"),
        "finished": record.get("finished"),
        "seed": record.get("seed", config.get("seed")),
        "git": (git or {}).get("commit"),
        "dirty": (git or {}).get("dirty"),
        "stages": [(k, fmt(v)) for k, v in (record.get("stages") or {}).items()],
        "versions": list((record.get("versions") or {}).items()),
        "overrides": [str(o) for o in overrides] if isinstance(overrides, list) else [],
        "model_files": list((manifest.get("files") or {}).items()),
        "config": redact(files.text("config.yaml") or ""),
        "error": record.get("error"),
    }
