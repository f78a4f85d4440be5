"""The run context: the typed config, the run folder, the record, and what stages made."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.errors import MlconfError
from mlconf.store.atomic import write_with

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from mlconf.config import TrainConfig
    from mlconf.privacy.policy import PrivacyPolicy
    from mlconf.store.runs import RunRecord


@dataclass
class RunContext:
    """Stages read and write named items here instead of passing many arguments."""

    conf: TrainConfig
    run_dir: Path
    record: RunRecord
    console: Console
    items: dict[str, Any] = field(default_factory=dict)
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    # What a stage opens for the rest of the run (temporary folders, ...): the runner closes
    # it when the stages end, also when one fails.
    resources: ExitStack = field(default_factory=ExitStack)
    # The privacy policy rows set aside are written under (stage privacy decides it; stage
    # validate plans it when it sets rows aside before that).
    privacy: PrivacyPolicy | None = None

    def __getitem__(self, name: str) -> Any:
        if name not in self.items:
            raise MlconfError(
                f"stage input '{name}' was not produced by an earlier stage",
                where="config key stages",
                fix="keep the default stage order: load, validate, prepare, split, train, "
                "evaluate, save",
            )
        return self.items[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.items[name] = value

    def warn(self, message: str) -> None:
        """Say it now and keep it in the run record."""
        self.record.warnings.append(message)
        self.console.print(f"[yellow]warning[/]: {message}")

    def count(self, key: str, value: Any) -> None:
        self.record.counts[key] = value

    def set_aside(self, rows: pd.DataFrame, reasons: Any, stage: str) -> None:
        """Quarantine rows with a reason each, so that nothing is dropped silently."""
        if len(rows) == 0:
            return
        self.quarantine.append(_protected(quarantine_rows(rows, reasons, stage), self.privacy))
        self.write_quarantine()

    def protect_quarantine(self, policy: PrivacyPolicy) -> None:
        """Rewrite the quarantine file with `policy` applied to its rows and their reasons."""
        self.quarantine[:] = [_protected(q, policy) for q in self.quarantine]
        self.write_quarantine()

    def write_quarantine(self) -> Path | None:
        if not self.quarantine:
            return None
        import pandas as pd

        frame = pd.concat(self.quarantine, ignore_index=True)
        path = self.run_dir / "data" / "quarantine.csv"
        write_with(path, lambda tmp: frame.to_csv(tmp, index=False))
        self.count("quarantined_rows", len(frame))
        return path

    def artifact(self, *parts: str) -> Path:
        path = self.run_dir.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _protected(rows: pd.DataFrame, policy: PrivacyPolicy | None) -> pd.DataFrame:
    """Quarantined rows with the policy applied to their values and to their reasons."""
    if not policy:
        return rows
    return policy.rows(rows.assign(_reason=policy.texts(rows["_reason"].astype(object), rows)))


def quarantine_rows(rows: pd.DataFrame, reasons: Any, stage: str) -> pd.DataFrame:
    """The rows as data/quarantine.csv holds them: row number, stage and reason first."""
    kept = rows.copy()
    kept.insert(0, "_reason", reasons)
    kept.insert(0, "_stage", stage)
    kept.insert(0, "_row", rows.index)
    return kept
