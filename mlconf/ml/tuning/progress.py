"""One progress bar over a study's trials, with the best value so far.

Folds and boosting rounds inside a trial print nothing, so a long search shows one line
that moves, not thousands. Off a terminal (a log file, CI) a bar cannot move, so each
finished trial prints one short line instead.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class TrialProgress:
    """A context manager whose `update` is an Optuna study callback."""

    def __init__(self, console: Console, metric: str, n_trials: int, timeout: float | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.metric = metric
        self.console = console
        self.counts = {"complete": 0, "pruned": 0, "failed": 0}
        limit = f" (stops after {timeout:g} s)" if timeout else ""
        self._progress = Progress(
            TextColumn(f"  tuning{limit}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(
            "trials", total=n_trials if n_trials > 0 else None, best="best -"
        )

    def __enter__(self) -> TrialProgress:
        if self.console.is_terminal:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.console.is_terminal:
            self._progress.stop()

    def update(self, study: Any, trial: Any) -> None:
        state = trial.state.name.lower()
        key = {"complete": "complete", "pruned": "pruned"}.get(state, "failed")
        self.counts[key] += 1
        best = _best(study)
        shown = f"best {self.metric} {best:.4f}" if best is not None else "best -"
        extra = [f"{n} {k}" for k, n in self.counts.items() if k != "complete" and n]
        self._progress.update(
            self._task,
            advance=1,
            best=shown + (f" ({', '.join(extra)})" if extra else ""),
        )
        if not self.console.is_terminal:
            value = "" if trial.value is None else f" {self.metric} {trial.value:.4f}"
            if value and state == "pruned":  # the score so far, not a finished trial's
                value = f" at a partial{value} (its folds so far)"
            self.console.print(f"  trial {trial.number}: {state}{value} ({shown})", highlight=False)


def _best(study: Any) -> float | None:
    """The best finished value, or None before any trial finished (Optuna raises then)."""
    try:
        value = float(study.best_value)
    except ValueError:
        return None
    return None if math.isnan(value) else value
