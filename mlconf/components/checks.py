"""Built-in column checks, named in a schema as `checks: [{name: ..., params: {...}}]`.

A check factory takes its params and returns a function `series -> bool Series` (one verdict
per row, so failing rows can be quarantined) or `series -> bool` (one verdict for the whole
column, which stops the run). Missing values are skipped before the function sees the series
unless the check is registered with `ignore_na=False`. pandas is imported inside the
functions so that listing the registry stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlconf.core.component_registry import register
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    import pandas as pd


@register("check", "positive")
def positive() -> Callable[[pd.Series], pd.Series]:
    """Values must be greater than zero (counts, prices, weights)."""

    def check(series: pd.Series) -> pd.Series:
        return series > 0

    return check


@register("check", "not_blank")
def not_blank() -> Callable[[pd.Series], pd.Series]:
    """Text must not be empty or only whitespace; such values are missing data in disguise."""

    def check(series: pd.Series) -> pd.Series:
        return series.isna() | (series.astype(str).str.strip() != "")

    return check


@register("check", "max_missing_share", ignore_na=False)
def max_missing_share(share: float) -> Callable[[pd.Series], bool]:
    """At most `share` (0 to 1) of the column may be missing; a column-level check."""
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise MlconfError(
            f"max_missing_share needs `share` between 0 and 1, got {share!r}",
            fix="write e.g. `{name: max_missing_share, params: {share: 0.1}}`",
        )

    def check(series: pd.Series) -> bool:
        if len(series) == 0:
            return True
        return float(series.isna().mean()) <= share

    return check


@register("check", "monotonic_increasing")
def monotonic_increasing() -> Callable[[pd.Series], pd.Series]:
    """Each value must be at least every value above it; flags the rows where it drops."""

    def check(series: pd.Series) -> pd.Series:
        return series.isna() | (series >= series.cummax())

    return check
