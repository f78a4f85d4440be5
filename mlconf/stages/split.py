"""Split: train, validation and test parts, a manifest of which row went where, leakage checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.errors import MlconfError
from mlconf.registry import get
from mlconf.stages.prepare import feature_columns

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.stages.context import RunContext

PARTS = ("train", "validation", "test")
POLICIES = ("error", "warn", "ignore")


def split(ctx: RunContext) -> None:
    conf = ctx.conf
    frame: pd.DataFrame = ctx["frame"]
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
    leakage_checks(ctx, frames)
    _write_manifest(ctx, frames)
    ctx["parts"] = frames
    ctx.count("split", {name: len(f) for name, f in frames.items()})
    ctx.console.print("  split " + ", ".join(f"{name} {len(f):,}" for name, f in frames.items()))


def _act(ctx: RunContext, policy: str, key: str, message: str, fix: str) -> None:
    if policy not in POLICIES:
        raise MlconfError(
            f"unknown policy '{policy}'",
            where=f"config key split.leakage.{key}",
            fix="use error, warn or ignore",
        )
    if policy == "error":
        raise MlconfError(
            message,
            where=f"leakage check split.leakage.{key}",
            fix=f"{fix} (or set split.leakage.{key}=warn)",
        )
    if policy == "warn":
        ctx.warn(message)


def leakage_checks(ctx: RunContext, frames: dict[str, pd.DataFrame]) -> None:
    """split.leakage's checks over the parts (the dask engine passes its sampled parts)."""
    conf = ctx.conf
    leakage = conf.split.leakage
    target = conf.problem.target
    train = frames["train"]
    features = feature_columns(ctx, train)
    copies = _target_copies(train, target, features)
    if copies:
        _act(
            ctx,
            leakage.target_in_features,
            "target_in_features",
            f"feature(s) {', '.join(copies)} equal the target '{target}' on every training row",
            "drop them with data.drop_columns",
        )
    repeated = _rows_shared_with_train(ctx["frame"], frames, features)
    for part, overlap in repeated.items():
        if overlap:
            _act(
                ctx,
                leakage.identical_rows,
                "identical_rows",
                f"{overlap} {part} row(s) have features identical to a training row",
                "remove duplicates (prepare.duplicates.drop_exact=true) or split by group",
            )
    if conf.split.group_column:
        groups = {name: set(f[conf.split.group_column].astype(str)) for name, f in frames.items()}
        shared = (groups["train"] & groups["test"]) | (groups["train"] & groups["validation"])
        if shared:
            _act(
                ctx,
                leakage.group_overlap,
                "group_overlap",
                f"{len(shared)} group(s) of '{conf.split.group_column}' appear in train and in "
                "validation/test",
                "use split=group",
            )
    if conf.split.time_column:
        import pandas as pd

        stamps = {
            name: pd.to_datetime(f[conf.split.time_column], errors="coerce")
            for name, f in frames.items()
        }
        later = [
            p
            for p in ("validation", "test")
            if len(stamps[p]) and stamps["train"].max() > stamps[p].min()
        ]
        if later:
            _act(
                ctx,
                leakage.time_overlap,
                "time_overlap",
                f"training rows are later than some {' and '.join(later)} rows "
                f"(by '{conf.split.time_column}'): the model would learn from the future",
                "use split=time",
            )


def _target_copies(train: pd.DataFrame, target: str, features: list[str]) -> list[str]:
    """Features equal to the target on every row; only same-kind columns can be."""
    from mlconf.components._columns import column_kind

    y = train[target]
    kind = column_kind(y.dtype)
    same_kind = [c for c in features if column_kind(train[c].dtype) == kind]
    return [c for c in same_kind if bool((train[c].to_numpy() == y.to_numpy()).all())]


def _rows_shared_with_train(
    frame: pd.DataFrame, frames: dict[str, pd.DataFrame], features: list[str]
) -> dict[str, int]:
    """How many validation/test rows repeat a training row's features exactly.

    A duplicate search over the whole frame is cheap and usually finds nothing; only
    the rows it flags are compared part by part.
    """
    from mlconf.stages.rows import duplicated

    candidates = frame.index[duplicated(frame, features, keep=False).to_numpy()]
    if len(candidates) == 0:
        return {"validation": 0, "test": 0}
    rows = {p: f.loc[f.index.intersection(candidates), features] for p, f in frames.items()}
    seen = set(rows["train"].itertuples(index=False, name=None))
    return {
        p: sum(r in seen for r in rows[p].itertuples(index=False, name=None))
        for p in ("validation", "test")
    }


def _write_manifest(ctx: RunContext, frames: dict[str, pd.DataFrame]) -> None:
    import pandas as pd

    from mlconf.store.atomic import write_with

    manifest = pd.concat(
        [pd.DataFrame({"row": f.index, "part": name}) for name, f in frames.items()],
        ignore_index=True,
    ).sort_values("row", kind="stable")
    write_with(ctx.artifact("data", "split.csv"), lambda tmp: manifest.to_csv(tmp, index=False))
