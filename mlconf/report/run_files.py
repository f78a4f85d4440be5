"""Reading a run folder for the report: what makes a folder a run, and its files read so that
anything missing or unreadable becomes a note in the report, never a failed report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlconf.core.errors import MlconfError

RUN_FILES = ("run.json", "config.yaml")


def check_run_dir(path: Path | str) -> Path:
    """The run folder, or an error naming the file that makes it not one."""
    folder = Path(path)
    if not folder.exists():
        raise MlconfError(
            f"'{folder}' does not exist",
            where="RUN_DIR",
            fix="pass a run folder such as experiments/<experiment>/runs/<time>-<id>",
        )
    if not folder.is_dir():
        raise MlconfError(
            f"'{folder}' is a file, not a run folder",
            where="RUN_DIR",
            fix="pass the folder that holds run.json and config.yaml",
        )
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise MlconfError(
                f"'{folder}' is not a run folder: {name} is missing",
                where="RUN_DIR",
                fix="pass a folder written by `mlconf train` "
                "(experiments/<experiment>/runs/<time>-<id>), which holds "
                f"{' and '.join(RUN_FILES)}",
            )
    return folder


@dataclass
class RunFiles:
    """Reads a run folder's files; anything unreadable is noted, not raised."""

    root: Path
    problems: list[str] = field(default_factory=list)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def json(self, rel: str) -> Any:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def yaml(self, rel: str) -> Any:
        import yaml

        path = self.root / rel
        if not path.is_file():
            return None
        try:
            # libyaml's safe loader where the wheel has it: the same values, 10x sooner
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        except (OSError, yaml.YAMLError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def text(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None

    def header(self, rel: str) -> list[str]:
        """The column names of a CSV file (its first line only), or [] if unreadable."""
        import pandas as pd

        path = self.root / rel
        try:
            return [str(c) for c in pd.read_csv(path, nrows=0).columns] if path.is_file() else []
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return []

    def csv(self, rel: str, usecols: list[str] | None = None) -> Any:
        import pandas as pd

        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return pd.read_csv(
                path, usecols=(lambda c: c in usecols) if usecols else None, low_memory=False
            )
        except (OSError, ValueError) as exc:
            self.problems.append(f"{rel} could not be read: {exc}")
            return None


# --- loose JSON values: a stage's file is data, so every shape is checked before use ---------


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def number(value: Any) -> float | None:
    """`value` as a float if it is an int or float (not a bool; NaN stays NaN), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def plots_of(doc: Any) -> list[dict[str, str]]:
    """The `plots` list of a stage's JSON: [{path, title, caption}]."""
    if not isinstance(doc, dict):
        return []
    plots = doc.get("plots") or []
    return [p for p in plots if isinstance(p, dict) and isinstance(p.get("path"), str)]
