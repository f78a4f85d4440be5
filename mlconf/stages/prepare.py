"""Prepare: row-level cleaning before the split: empty columns, sparse rows, duplicates, outliers.

Everything removed here is either a column (named in a warning) or a row set aside in
quarantine.csv with its reason. Value-level cleaning (imputation, clipping) is fitted
inside the pipeline instead, so that serving repeats it exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError
from mlconf.ml.features import feature_columns, too_sparse

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.run_state import RunState


def prepare(ctx: RunState) -> None:
    frame = ctx.frame
    if ctx.conf.fairness.sensitive or ctx.conf.fairness.intersections:
        from mlconf.ml.fairness.metrics import check_fairness_config

        # A misnamed sensitive attribute fails here, before any training.
        check_fairness_config(ctx.conf.fairness, list(frame.columns))
    frame = _drop_sparse_columns(ctx, frame)
    frame = _drop_sparse_rows(ctx, frame)
    frame = _duplicates(ctx, frame)
    frame = _outliers(ctx, frame)
    if not feature_columns(ctx.conf, frame):
        raise MlconfError(
            "no feature columns are left after preparation",
            where="config group prepare",
            fix="loosen prepare.missing.drop_columns_over, or check data.id_columns",
        )
    ctx.count("rows_prepared", len(frame))
    ctx.frame = frame


def _drop_sparse_columns(ctx: RunState, frame: pd.DataFrame) -> pd.DataFrame:
    dropped = too_sparse(
        ctx.conf, frame[feature_columns(ctx.conf, frame)].isna().mean().to_dict(), ctx.warn
    )
    ctx.count("columns_dropped", dropped)
    return frame.drop(columns=dropped) if dropped else frame


def _drop_sparse_rows(ctx: RunState, frame: pd.DataFrame) -> pd.DataFrame:
    limit = ctx.conf.prepare.missing.drop_rows_over
    if limit is None:
        return frame
    shares = frame[feature_columns(ctx.conf, frame)].isna().mean(axis=1)
    sparse = shares > limit
    ctx.set_aside(
        frame[sparse],
        [f"{s:.0%} of features missing (over {limit})" for s in shares[sparse]],
        "prepare",
    )
    ctx.count("rows_too_sparse", int(sparse.sum()))
    return frame[~sparse]


def _duplicates(ctx: RunState, frame: pd.DataFrame) -> pd.DataFrame:
    from mlconf.ml.rows import duplicated

    config = ctx.conf.prepare.duplicates
    if config.key_columns:
        near = duplicated(frame, list(config.key_columns), keep=False)
        ctx.count("near_duplicate_rows", int(near.sum()))
        if near.any():
            ctx.warn(
                f"{int(near.sum())} rows share their {', '.join(config.key_columns)} "
                "with another row (near-duplicates; kept)"
            )
    if not config.drop_exact:
        return frame
    exact = duplicated(frame, list(frame.columns), keep="first")
    ctx.count("exact_duplicates_dropped", int(exact.sum()))
    ctx.set_aside(frame[exact], "exact duplicate of an earlier row", "prepare")
    return frame[~exact]


def _outliers(ctx: RunState, frame: pd.DataFrame) -> pd.DataFrame:
    config = ctx.conf.prepare.outliers
    if config.method == "none" or config.action != "quarantine":
        if config.method not in ("none", "iqr", "zscore"):
            raise MlconfError(
                f"unknown outlier method '{config.method}'",
                where="config key prepare.outliers.method",
                fix="use none, iqr or zscore",
            )
        return frame
    from mlconf.components.transformers.outliers import outlier_mask

    columns = list(config.columns) or [
        c for c in feature_columns(ctx.conf, frame) if _is_numeric(frame[c])
    ]
    mask = outlier_mask(frame, config.method, config.factor, config.threshold, columns)
    rows = mask.any(axis=1)
    reasons = [
        "outlier in " + ", ".join(str(c) for c in mask.columns[flags])
        for flags in mask[rows].to_numpy()
    ]
    ctx.set_aside(frame[rows], reasons, "prepare")
    ctx.count("outlier_rows_quarantined", int(rows.sum()))
    return frame[~rows]


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))
