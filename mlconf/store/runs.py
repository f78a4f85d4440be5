"""The run record (`run.json`): what a run read, ran and produced, written as it goes."""

from __future__ import annotations

import platform
import shutil
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlconf.core.distribution import DISTRIBUTION, package_version
from mlconf.core.secrets import mask_text
from mlconf.store.atomic import write_json

TRACKED_PACKAGES = (
    DISTRIBUTION,
    "hydra-core",
    "omegaconf",
    "pandas",
    "numpy",
    "scikit-learn",
    "xgboost",
    "pandera",
    "pyarrow",
    "skops",
    "SQLAlchemy",
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        if (version := package_version(name)) is not None:
            versions[name] = version  # "xgboost" also when xgboost-cpu installed it
    return versions


def git_commit(cwd: Path | None = None) -> dict[str, Any] | None:
    """The commit of the code being run, if it lives in a git checkout."""
    git = shutil.which("git")  # an absolute path, not whatever "git" a PATH lookup finds later
    if git is None:
        return None
    try:
        # S603: a fixed argument list, nothing from the config or the user.
        commit = subprocess.run(  # noqa: S603
            [git, "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(  # noqa: S603 - fixed argument list, as above
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """Saved after every stage, so a crashed run still says how far it got."""

    run_dir: Path
    experiment: str
    seed: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = "running"
    started: str = field(default_factory=_now)
    finished: str | None = None
    stages: dict[str, float] = field(default_factory=dict)
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    # Worker seconds per stage for the plots and reports written beside the stages.
    background: dict[str, float] = field(default_factory=dict)
    # Seconds from the start of the stages: to the printed metrics, to the last artifact.
    timing: dict[str, float] = field(default_factory=dict)
    # Analyses that ran on a seeded sample: rows used, of how many, and what that means.
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    versions: dict[str, str] = field(default_factory=package_versions)
    git: dict[str, Any] | None = field(default_factory=git_commit)
    # Credentials of the run's config (URLs, API keys): hidden wherever they appear in the
    # error and warnings, also outside a URL (a driver may quote a password). Never saved.
    secrets: list[str] = field(default_factory=list, repr=False)

    def timed(self, stage: str, seconds: float) -> None:
        self.stages[stage] = round(seconds, 4)
        self.save()

    def finish(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.finished = _now()
        self.save()

    def save(self) -> None:
        data = asdict(self)
        del data["secrets"]
        data["run_dir"] = str(self.run_dir)
        data["error"] = mask_text(self.error, self.secrets) if self.error else self.error
        data["warnings"] = [mask_text(w, self.secrets) for w in self.warnings]
        write_json(self.run_dir / "run.json", data)
