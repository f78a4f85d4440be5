"""Split: train, validation and test parts, a manifest of which row went where, leakage checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.component_registry import get, require
from mlconf.core.errors import MlconfError
from mlconf.ml.leakage import leakage_checks
from mlconf.ml.training import training_data

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig
    from mlconf.run_state import RunState

PARTS = ("train", "validation", "test")


def split(ctx: RunState) -> None:
    conf = ctx.conf
    frame: pd.DataFrame = ctx.frame
    y = frame[conf.problem.target]
    splitter = get("splitter", conf.split.method)
    parts = splitter.factory(
        frame,
        y,
        test_size=conf.split.test_size,
        validation_size=conf.split.validation_size,
        seed=conf.seed,
        shuffle=conf.split.shuffle,
        stratify=conf.split.stratify,
        task=conf.problem.task,
        group_column=conf.split.group_column,
        time_column=conf.split.time_column,
        part_column=conf.split.part_column,
        part_labels=dict(conf.split.part_labels),
    )
    for part in ("train", "test"):
        if len(parts.get(part, ())) == 0:
            raise MlconfError(
                f"the {part} part is empty ({len(frame)} rows in all)",
                where="config group split",
                fix="use a test_size between 0 and 1, or supply more rows",
            )
    frames = {name: frame.iloc[parts[name]] for name in PARTS}
    if conf.problem.task == "classification" and frames["train"][conf.problem.target].nunique() < 2:
        raise MlconfError(
            "the train part holds only one class",
            where="config group split",
            fix="use split.stratify=true or a different split",
        )
    leakage_checks(conf, frame, frames, ctx.warn)
    _write_manifest(ctx, frames)
    ctx.parts = frames
    ctx.training = training_data(conf, frames, ctx.warn)
    ctx.count("split", {name: len(f) for name, f in frames.items()})
    ctx.console.print("  split " + ", ".join(f"{name} {len(f):,}" for name, f in frames.items()))


def _write_manifest(ctx: RunState, frames: dict[str, pd.DataFrame]) -> None:
    import pandas as pd

    from mlconf.store.atomic import write_with

    manifest = pd.concat(
        [pd.DataFrame({"row": f.index, "part": name}) for name, f in frames.items()],
        ignore_index=True,
    ).sort_values("row", kind="stable")
    write_with(ctx.artifact("data", "split.csv"), lambda tmp: manifest.to_csv(tmp, index=False))


def check(conf: TrainConfig) -> None:
    require("splitter", conf.split.method, "split.method")
