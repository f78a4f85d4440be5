"""Leakage checks over the parts of a split: target copies, shared rows, groups, time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError
from mlconf.ml.features import feature_columns

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig

POLICIES = ("error", "warn", "ignore")


def _act(warn: Callable[[str], None], policy: str, key: str, message: str, fix: str) -> None:
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
        warn(message)


def leakage_checks(
    conf: TrainConfig,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    warn: Callable[[str], None],
) -> None:
    """split.leakage's checks over the parts of `frame` (the Dask engine passes its sample)."""
    leakage = conf.split.leakage
    target = conf.problem.target
    train = frames["train"]
    features = feature_columns(conf, train)
    copies = _target_copies(train, target, features)
    if copies:
        _act(
            warn,
            leakage.target_in_features,
            "target_in_features",
            f"feature(s) {', '.join(copies)} equal the target '{target}' on every training row",
            "drop them with data.drop_columns",
        )
    repeated = _rows_shared_with_train(frame, frames, features)
    for part, overlap in repeated.items():
        if overlap:
            _act(
                warn,
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
                warn,
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
                warn,
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
    from mlconf.ml.rows import duplicated

    candidates = frame.index[duplicated(frame, features, keep=False).to_numpy()]
    if len(candidates) == 0:
        return {"validation": 0, "test": 0}
    rows = {p: f.loc[f.index.intersection(candidates), features] for p, f in frames.items()}
    seen = set(rows["train"].itertuples(index=False, name=None))
    return {
        p: sum(r in seen for r in rows[p].itertuples(index=False, name=None))
        for p in ("validation", "test")
    }
