"""Which columns are features, and which are too empty to keep: one rule for both engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.config import TrainConfig


def feature_columns(conf: TrainConfig, frame: pd.DataFrame) -> list[str]:
    """Every column but the target, the ids, the sensitive attributes (see fairness) and
    the column saying each row's part (it describes the split, not the row)."""
    from mlconf.ml.fairness.metrics import excluded_columns

    protected = {conf.problem.target, *conf.data.id_columns, *excluded_columns(conf.fairness)}
    marker = part_column(conf)
    if marker:
        protected.add(marker)
    return [c for c in frame.columns if c not in protected]


def part_column(conf: TrainConfig) -> str | None:
    """The column naming each row's part, when the split reads one (split=predefined)."""
    return conf.split.part_column if conf.split.method == "predefined" else None


def too_sparse(
    conf: TrainConfig, shares: dict[str, float], warn: Callable[[str], None]
) -> list[str]:
    """Feature columns entirely empty or missing more than prepare.missing.drop_columns_over
    (`shares`: column -> missing share), each named in a warning."""
    limit = conf.prepare.missing.drop_columns_over
    empty = [c for c, s in shares.items() if s == 1.0]
    for column in empty:
        warn(f"feature column '{column}' is entirely empty; it was dropped")
    sparse = [c for c, s in shares.items() if limit is not None and s > limit and c not in empty]
    for column in sparse:
        warn(
            f"feature column '{column}' is {shares[column]:.0%} missing (over "
            f"prepare.missing.drop_columns_over={limit}); it was dropped"
        )
    return empty + sparse
