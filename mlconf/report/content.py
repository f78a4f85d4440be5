"""What a report says: every artifact of a run folder read into plain, display-ready values,
section by section in the order the report shows them.

Each section (mlconf.report.sections) is built from whatever files exist; a missing file
gives a section that says plainly which stage did not run and how to enable it. A file that
cannot be read becomes a note in the report, never a failed report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlconf.report.run_files import RunFiles
from mlconf.report.sections.compliance import compliance_section
from mlconf.report.sections.data import data_section
from mlconf.report.sections.eda import eda_section
from mlconf.report.sections.evaluation import evaluation_section, metrics_section
from mlconf.report.sections.fairness import fairness_section
from mlconf.report.sections.features import features_section
from mlconf.report.sections.glance import glance_section
from mlconf.report.sections.interpretation import interpretation_section
from mlconf.report.sections.lineage import lineage_section
from mlconf.report.sections.privacy import privacy_section
from mlconf.report.sections.problem import problem_section
from mlconf.report.sections.quality import quality_section
from mlconf.report.sections.selection import selection_section
from mlconf.report.sections.split import split_section


def collect(run_dir: Path, status: str | None = None) -> dict[str, Any]:
    """Every section of the report as plain values (the template only lays them out)."""
    files = RunFiles(run_dir)
    record = files.json("run.json") or {}
    if status is not None:
        from datetime import UTC, datetime

        now = datetime.now(UTC).isoformat(timespec="seconds")
        record = {**record, "status": status, "finished": record.get("finished") or now}
    config = files.yaml("config.yaml") or {}
    metrics = files.json("metrics.json")
    manifest = files.json("model/manifest.json")
    profile = files.json("data/profile.json")
    privacy = files.json("data/privacy.json")
    interpretation = files.json("interpretation.json")
    fairness = files.json("fairness.json")
    quality = quality_section(files, config, record)
    view: dict[str, Any] = {
        "title": f"{record.get('experiment') or config.get('experiment_name') or 'run'}",
        "record": record,
        "problem": problem_section(config, metrics),
        "data": data_section(record),
        "quality": quality,
        "privacy": privacy_section(privacy),
        "eda": eda_section(profile),
        "features": features_section(config, manifest),
        "split": split_section(files, config, record),
        "selection": selection_section(
            files, record, (config.get("problem") or {}).get("primary_metric")
        ),
        "metrics": metrics_section(metrics),
        "evaluation": evaluation_section(files, metrics),
        "interpretation": interpretation_section(interpretation),
        "fairness": fairness_section(fairness),
        "lineage": lineage_section(files, config, record, manifest),
    }
    view["compliance"] = compliance_section(view, files, record, manifest, privacy)
    view["glance"] = glance_section(view, record, config, manifest)
    view["problems"] = files.problems
    return view
