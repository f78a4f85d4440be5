"""The run state: the typed config, the run folder, the record, and what the stages made.

Each stage reads and writes named, typed fields here. A field a stage makes for later ones
(`frame`, `parts`, `training`, `pipeline`, `baseline`, `model_dir`) is a `Produced` field:
reading it before any stage made it fails with an error that names the stage order, not an
AttributeError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from mlconf.core.background import Background
from mlconf.core.errors import MlconfError
from mlconf.core.secrets import mask_text
from mlconf.ml.target import TrainingData
from mlconf.store.atomic import write_with

# What a run says, for the run's log file (run.log under `mlconf train`, whose logging
# config sends this logger there); silent where no handler is configured.
log = logging.getLogger("mlconf.run")
log.addHandler(logging.NullHandler())

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from mlconf.config import ModelConfig, TrainConfig
    from mlconf.ml.evaluation import MetricValue
    from mlconf.ml.framing import ThresholdChoice
    from mlconf.ml.privacy.policy import PrivacyPolicy
    from mlconf.ml.scoring import Predicted
    from mlconf.store.runs import RunRecord

T = TypeVar("T")


class Produced(Generic[T]):
    """A field one stage makes and later stages need."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Produced[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> T | Produced[T]:
        if obj is None:
            return self
        try:
            value: T = obj.__dict__[self.name]
        except KeyError:
            raise MlconfError(
                f"stage input '{self.name}' was not produced by an earlier stage",
                where="config key stages",
                fix="keep the default stage order: load, validate, prepare, split, train, "
                "evaluate, save",
            ) from None
        return value

    def __set__(self, obj: object, value: T) -> None:
        obj.__dict__[self.name] = value

    def made(self, obj: object) -> bool:
        """Whether a stage has made the field yet (for stages that can do without it)."""
        return self.name in obj.__dict__


@dataclass
class RunState:
    """What a run's stages share. The engine-specific state of the Dask engine lives in
    `partitions` (its own typed object); the pandas engine leaves it None."""

    conf: TrainConfig
    run_dir: Path
    record: RunRecord
    console: Console
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    # What a stage opens for the rest of the run (temporary folders, ...): the runner closes
    # it when the stages end, also when one fails.
    resources: ExitStack = field(default_factory=ExitStack)
    # The privacy policy rows set aside are written under (stage privacy decides it; stage
    # validate plans it when it sets rows aside before that).
    privacy: PrivacyPolicy | None = None
    # The policy the pipeline's PII guard step applies (set by stage privacy only).
    pipeline_privacy: dict[str, Any] | None = None
    # The Dask engine's own state (mlconf.scale.partitioned.ScaleState); this layer sits
    # below the engines, so it is not named here.
    partitions: Any = None
    # The model the train stage fits: the configured one, or the one select or tune chose
    # (stages never write the config: it stays what the user asked for).
    model: ModelConfig = field(init=False)
    cv: dict[str, Any] | None = None
    # The tune stage's deadline (mlconf.ml.tuning.deadline): the final fit stops adding trees
    # when only the time of the stages after it is left of tune.timeout.
    tuning_deadline: Any = None
    threshold: ThresholdChoice | None = None
    test_scores: dict[str, MetricValue] = field(default_factory=dict)
    # Each part's predictions by evaluate, which save's reference profile reuses.
    predicted: dict[str, Predicted] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    leaderboard: pd.DataFrame | None = None
    interpretation: dict[str, Any] | None = None
    fairness: dict[str, Any] | None = None
    explain_sources: dict[str, list[str]] | None = None
    # Plots and reports nothing later reads, written while the stages go on (see Background).
    background: Background = field(default_factory=Background)

    frame = Produced["pd.DataFrame"]()
    parts = Produced["dict[str, pd.DataFrame]"]()
    training = Produced[TrainingData]()
    pipeline = Produced[Any]()
    baseline = Produced[Any]()
    model_dir = Produced[Path]()

    def __post_init__(self) -> None:
        self.model = self.conf.model
        self.resources.callback(self.background.close)

    def later(self, stage: str, job: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Hand work nothing later in the run reads to the background thread (Background)."""
        self.background.submit(stage, job, *args, **kwargs)

    def draw(self, stage: str, job: Callable[..., Any], *args: Any) -> None:
        """Hand a plot (a module-level function and picklable arguments) to the background
        drawing process (Background.draw), after what was handed in before."""
        self.background.draw(stage, job, *args)

    def sampled(self, purpose: str, rows: int, of: int, meaning: str) -> None:
        """Record in run.json that `purpose` used `rows` of `of` rows, and what that means."""
        self.record.samples[purpose] = sample_note(rows, of, meaning)

    def warn(self, message: str) -> None:
        """Say it now and keep it in the run record."""
        self.record.warnings.append(message)
        self.console.print(f"[yellow]warning[/]: {message}")
        log.warning(mask_text(message, self.record.secrets))

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


def sample_note(rows: int, of: int, meaning: str) -> dict[str, Any]:
    """How many rows an analysis used, of how many, and the bound on its sampling error.

    A share (a missing rate, a histogram bin, a class frequency) estimated from `rows` of
    `of` rows drawn at random lies within `share_margin_95` of the share over all rows, 19
    times in 20 (normal bound at p = 0.5, with the finite-population correction).
    """
    import math

    sampled = rows < of
    margin = 0.0
    if sampled and rows > 0 and of > 1:
        margin = 1.96 * 0.5 / math.sqrt(rows) * math.sqrt((of - rows) / (of - 1))
    return {
        "rows": rows,
        "of": of,
        "sampled": sampled,
        "share_margin_95": round(margin, 4),
        "meaning": meaning,
    }


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


def _nothing_to_check(conf: TrainConfig) -> None:
    """A stage whose config cannot be wrong before the data is read."""


def always(conf: TrainConfig) -> bool:
    """A stage that draws in every run."""
    return True


@dataclass(frozen=True)
class Stage:
    """One step of a run. `check(conf)` runs for every stage before any data is read (the
    runner's preflight), so a misnamed component or a bad combination fails in a second,
    not after an hour of training; `run(state)` does the work.

    A stage that draws names the module of its drawing jobs (`plots`), which the drawing
    process imports as it starts, and `draws(conf)`, the same test its run makes: a run
    whose stages draw nothing starts no drawing process."""

    run: Callable[[RunState], None]
    check: Callable[[TrainConfig], None] = _nothing_to_check
    plots: str | None = None
    draws: Callable[[TrainConfig], bool] = always

    def __call__(self, state: RunState) -> None:
        self.run(state)
