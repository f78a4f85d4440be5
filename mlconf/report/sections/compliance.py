"""The compliance checklist: each item pass, fail or not run, with its evidence in words.

Each item is one function returning (name, status, detail), drawn from the other sections
of the view and the run record, so the checklist never reads an artifact differently from
the section that shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlconf.report.run_files import RunFiles
from mlconf.report.sections.fairness import failed_checks, unconfirmed_checks

Item = tuple[str, str, str]

# What a PII finding's action is when the column was kept as it is.
KEPT_ACTIONS = ("", "none", "ignore", "ignored", "kept")


def compliance_section(
    view: dict[str, Any],
    files: RunFiles,
    record: dict[str, Any],
    manifest: Any,
    privacy: Any,
) -> list[dict[str, str]]:
    """The checklist: each item pass, fail or not run, with the evidence in words."""
    items = [
        _fingerprint_item(record),
        _privacy_item(view["privacy"], privacy),
        _fairness_item(view["fairness"]),
        _criteria_item(view["metrics"]),
        _hash_item(files.root, manifest),
        _reproducibility_item(record),
        _quarantine_item(view["quality"]),
    ]
    return [{"name": name, "status": status, "detail": detail} for name, status, detail in items]


def _fingerprint_item(record: dict[str, Any]) -> Item:
    name = "Data fingerprints recorded"
    fps = record.get("fingerprints") or {}
    if fps and all(isinstance(f, dict) and f.get("sha256") for f in fps.values()):
        return name, "pass", f"sha256 of {len(fps)} source(s) in run.json"
    return name, "fail", "a source has no sha256 in run.json"


def _privacy_item(section: dict[str, Any], privacy: Any) -> Item:
    name = "PII scan run and findings handled"
    if not isinstance(privacy, dict) or not section["present"]:
        return name, "not run", section["hint"]
    findings = [f for f in privacy.get("findings") or [] if isinstance(f, dict)]
    open_ = [f for f in findings if str(f.get("action") or "").lower() in KEPT_ACTIONS]
    if open_:
        cols = ", ".join(str(f.get("column")) for f in open_)
        return name, "fail", f"kept as is (policy ignore): {cols}"
    return name, "pass", f"{len(findings)} finding(s), each dropped, hashed or stopped the run"


def _fairness_item(fair: dict[str, Any]) -> Item:
    name = "Fairness limits checked and passed"
    judged = [c for c in fair.get("checks", []) if c["passed"] is not None]
    if not fair["present"]:
        return name, "not run", "no sensitive attributes configured"
    if not judged:
        return (
            name,
            "not run",
            f"groups of {fair['names']} measured, but no limit is set (fairness.limits)",
        )
    failed, unsure = failed_checks(fair), unconfirmed_checks(fair)
    met = len(judged) - len(failed) - len(unsure)
    detail = f"confirmed broken: {', '.join(failed)}" if failed else f"{met} check(s) met"
    if unsure:
        detail += f"; cannot be confirmed either way at this sample size: {', '.join(unsure)}"
    small = f"; {fair['small']} small group(s) not compared" if fair["small"] else ""
    return name, "fail" if failed else "pass", detail + small


def _criteria_item(metrics: dict[str, Any]) -> Item:
    name = "Success criteria met"
    if not metrics.get("present") or not metrics["criteria"]:
        return name, "not run", "no success criteria evaluated"
    missed = [str(c["metric"]) for c in metrics["criteria"] if not c["passed"]]
    unsure = [str(c["metric"]) for c in metrics["criteria"] if c["passed"] and not c["confident"]]
    detail = f"not met: {', '.join(missed)}" if missed else "every criterion met on test"
    if unsure:
        detail += f"; the interval crosses the bound for {', '.join(unsure)}"
    return name, "fail" if missed else "pass", detail


def _hash_item(root: Path, manifest: Any) -> Item:
    name = "Model artifact hashed (manifest sha256)"
    if not isinstance(manifest, dict):
        return name, "not run", "no model/manifest.json (the save stage did not run)"
    listed = manifest.get("files") or {}
    if not listed:
        return name, "fail", "the manifest lists no file hashes"
    from mlconf.store.artifacts import sha256_file

    for file, expected in listed.items():
        path = root / "model" / file
        if not path.is_file() or sha256_file(path) != expected:
            return name, "fail", f"model/{file} is missing or does not match its sha256"
    return name, "pass", f"{len(listed)} file(s) verified against model/manifest.json"


def _reproducibility_item(record: dict[str, Any]) -> Item:
    name = "Seed and versions recorded"
    versions = record.get("versions") or {}
    if isinstance(record.get("seed"), int) and bool(versions):
        return name, "pass", f"seed {record.get('seed')}, {len(versions)} package versions"
    return name, "fail", "seed or versions missing in run.json"


def _quarantine_item(quality: dict[str, Any]) -> Item:
    name = "Quarantine reviewed"
    if not quality["validated"]:
        return name, "not run", "the validate stage did not run"
    if quality["missing_reason"] or not quality["count_matches"]:
        return (
            name,
            "fail",
            f"{quality['missing_reason']} row(s) without a reason, or the count in run.json "
            "differs from data/quarantine.csv",
        )
    n = quality["quarantined"]
    if not n:
        return name, "pass", "no rows set aside"
    return name, "pass", f"{n} row(s) set aside, each with its reason (summarised above)"
