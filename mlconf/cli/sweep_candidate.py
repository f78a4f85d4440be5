"""After a multirun: each job's register stage moved `candidate` to its own version, so the
alias would end on whichever job finished last. Here it moves to the best ranked job.

The ranking is the sweep summary's (validation, never test when there is a choice). The
move goes through ModelRegistry.promote, so the audit trail records it like any promotion.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd


def _registry_url(job: Path) -> str | None:
    """The job's deploy.registry_url, from Hydra's copy of its config: unlike the run's
    config.yaml, it is not masked, so a URL with a password still connects."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        url = OmegaConf.select(
            OmegaConf.load(job / ".hydra" / "config.yaml"), "deploy.registry_url"
        )
    except (OSError, OmegaConfBaseException):
        return None
    return str(url) if url else None


def _registration(job: Path) -> tuple[str, int, str] | None:
    """(model name, version, alias) the job's register stage recorded in run.json."""
    import json

    try:
        record = json.loads((job / "run.json").read_text())
    except (OSError, ValueError):
        return None
    registered = (record.get("counts") or {}).get("registered") or {}
    name, _, version = str(registered.get("ref") or "").rpartition(":")
    if not (name and version.isdigit() and registered.get("alias")):
        return None
    return name, int(version), str(registered["alias"])


def best_registered(frame: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (registry, model, alias): the best ranked succeeded job that registered a version."""
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in frame.to_dict("records"):  # ranked best first
        job = Path(str(row["run_dir"]))
        found = _registration(job) if row["status"] == "succeeded" else None
        if found is None:
            continue
        name, version, alias = found
        url = _registry_url(job)
        if url is not None:
            best.setdefault((url, name, alias), {**row, "version": version})
    return best


def point_candidates(frame: pd.DataFrame) -> list[str]:
    """Point each alias the sweep's jobs set at its best job's version; what moved, in words."""
    from mlconf.store.model_registry import ModelRegistry

    lines = []
    for (url, name, alias), row in best_registered(frame).items():
        registry = ModelRegistry(url)
        why = f"job {row['job']}, rank {row['rank']} on {row['ranked_on']} {row['primary_metric']}"
        if row["rank"] != 1:
            why += "; the better ranked jobs registered no version"
        try:
            registry.promote(name, int(row["version"]), alias)
        except MlconfError as exc:
            lines.append(
                f"[red]{name}@{alias} not moved to version {row['version']}[/] ({why}): {exc}"
            )
            continue
        lines.append(f"{name}@{alias} -> version {row['version']} ({why})")
    return lines
