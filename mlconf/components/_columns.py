"""Column pickers for the ColumnTransformer: choose columns by dtype or by name at fit time."""

from __future__ import annotations

from typing import Any

SELECTS = ("numeric", "categorical", "datetime", "columns", "all")


class ColumnPicker:
    """A picklable callable that returns the columns of a frame one column set takes."""

    def __init__(self, select: str = "numeric", columns: Any = (), exclude: Any = ()) -> None:
        self.select = select
        self.columns = list(columns)
        self.exclude = list(exclude)

    def __call__(self, frame: Any) -> list[str]:
        names = [c for c in frame.columns if c not in self.exclude]
        if self.select == "columns":
            return [c for c in self.columns if c in frame.columns]
        if self.select == "all":
            return names
        return [c for c in names if column_kind(frame[c].dtype) == self.select]

    def __repr__(self) -> str:
        return (
            f"ColumnPicker(select={self.select!r}, columns={self.columns}, exclude={self.exclude})"
        )


# mlconf.core.dtypes' kind -> the column family; booleans and everything else are categorical.
_FAMILIES = {"integer": "numeric", "float": "numeric", "number": "numeric", "datetime": "datetime"}


def column_kind(dtype: Any) -> str:
    """numeric, categorical or datetime: the three families feature sets are built for."""
    from mlconf.core.dtypes import kind

    return _FAMILIES.get(kind(dtype), "categorical")
