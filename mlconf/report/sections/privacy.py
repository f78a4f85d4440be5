"""The privacy section: the PII scan's findings (examples masked) and what each policy did."""

from __future__ import annotations

from typing import Any

from mlconf.report.format import fmt, pct, table
from mlconf.report.run_files import as_dict
from mlconf.report.sections.not_run import not_run

# What each privacy action did, in words.
ACTIONS = {
    "hash": "hashed (salted)",
    "drop": "dropped",
    "fail": "stopped the run",
    "ignore": "kept as is",
}


def privacy_section(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"present": False, "hint": not_run("privacy")}
    if doc.get("scan") is False:
        return {"present": False, "hint": "The PII scan was switched off (privacy.scan=false)."}
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    rows = [
        {
            "column": f.get("column"),
            "kind": f.get("kind"),
            "share": pct(f.get("share")),
            "examples_masked": fmt(f.get("examples_masked") or []),
            "policy": f.get("policy"),
            "action": ACTIONS.get(str(f.get("action")), f.get("action")),
        }
        for f in findings
    ]
    actions, overrides = as_dict(doc.get("actions")), as_dict(doc.get("columns"))
    policy = as_dict(doc.get("policy"))
    summary = [
        ("Columns scanned", fmt(doc.get("columns_scanned"))),
        ("Values checked per column", f"up to {fmt(doc.get('sample_rows'))}"),
        ("A column is a finding when", f"at least {pct(doc.get('min_share'))} of values match"),
        ("Policy per kind", fmt(policy) or "-"),
        ("Policy per column", fmt(overrides) or "none"),
        ("Columns dropped", fmt(actions.get("drop") or []) or "none"),
        ("Columns hashed", fmt(actions.get("hash") or []) or "none"),
    ]
    if actions.get("hash"):
        summary.append(("Salt read from", f"the environment variable {doc.get('salt_env')}"))
    return {
        "present": True,
        "findings": table(rows, ["column", "kind", "share", "examples_masked", "policy", "action"]),
        "count": len(findings),
        "summary": summary,
    }
