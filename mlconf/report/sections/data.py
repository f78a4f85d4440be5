"""The data section: each source as loaded (kind, location, size, fingerprint) and the row
counts of loading and preparing."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, redact


def data_section(record: dict[str, Any]) -> dict[str, Any]:
    sources = []
    for name, fp in (record.get("fingerprints") or {}).items():
        fp = fp if isinstance(fp, dict) else {}
        sources.append(
            {
                "name": name,
                "kind": fp.get("kind"),
                "location": redact(str(fp.get("location", "-"))),
                "rows": fmt(fp.get("rows")),
                "columns": fmt(fp.get("columns")),
                "sha256": fp.get("sha256") or "-",
            }
        )
    counts = record.get("counts") or {}
    return {
        "sources": sources,
        "rows_loaded": fmt(counts.get("rows_loaded")),
        "rows_prepared": fmt(counts.get("rows_prepared")),
        "columns_dropped": fmt(counts.get("columns_dropped") or []) or "none",
        "duplicates_dropped": fmt(counts.get("exact_duplicates_dropped")),
    }
