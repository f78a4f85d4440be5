"""prepare.cast: column dtypes set before the schema checks, the same for both engines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlconf.core.errors import MlconfError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd


def cast_columns(frame: pd.DataFrame, cast: dict[str, str]) -> pd.DataFrame:
    """prepare.cast applied before the schema checks (both engines call this one)."""
    if not cast:
        return frame
    frame = frame.copy()
    for column, dtype in cast.items():
        if column not in frame.columns:
            raise MlconfError(
                f"cannot cast '{column}': no such column."
                f"{did_you_mean(column, map(str, frame.columns))}",
                where=f"config key prepare.cast.{column}",
            )
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise MlconfError(
                f"cannot cast column '{column}' to {dtype}: {exc}",
                where=f"config key prepare.cast.{column}",
                fix="pick a dtype every value fits, or validate the column with a schema rule "
                "(schema.on_error=quarantine sets bad rows aside)",
            ) from exc
    return frame
