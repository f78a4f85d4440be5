"""The `expressions` transformer: new columns from arithmetic on existing ones."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlconf.components.transformers.base import FrameTransformer, ParameterError
from mlconf.components.transformers.expression_language import (
    evaluate,
    expression_error,
    parse_expression,
    referenced_columns,
)
from mlconf.components.transformers.values import floats
from mlconf.core.errors import did_you_mean


class Expressions(FrameTransformer):
    """Add derived columns from arithmetic expressions such as `"Horsepower / Weight_in_lbs"`.

    The whole frame passes through with the new columns appended (a name that already
    exists is replaced in place); later expressions may use earlier ones. Expressions are
    parsed with `ast` and evaluated node by node, so a config can never run code.
    """

    _takes_text = True

    def __init__(self, *, expressions: Mapping[str, str] | None = None) -> None:
        self.expressions = expressions

    def _parsed(self) -> list[tuple[str, str, ast.Expression]]:
        """(new column, expression text, checked tree), in the configured order."""
        items = dict(self.expressions or {}).items()
        return [(str(name), str(text), parse_expression(str(name), text)) for name, text in items]

    def _check_settings(self) -> None:
        if self.expressions is not None and not isinstance(self.expressions, Mapping):
            raise ParameterError(
                f"expressions must map new column names to expressions, "
                f"got {type(self.expressions).__name__}",
                where="transform expressions",
                fix='write e.g. expressions: {power_to_weight: "Horsepower / Weight_in_lbs"}',
            )
        self._parsed()

    def fit(self, X: Any, y: Any = None) -> Expressions:
        frame = self._start_fit(X)
        available = {str(c): frame[c].dtype for c in frame.columns}
        for name, text, tree in self._parsed():
            for column in referenced_columns(tree):
                if column not in available:
                    raise expression_error(
                        name,
                        text,
                        f"unknown column {column!r}.{did_you_mean(column, available)}",
                    )
                if not pd.api.types.is_numeric_dtype(available[column]):
                    raise expression_error(
                        name,
                        text,
                        f"column {column!r} is not numeric (dtype {available[column]})",
                    )
            available[name] = np.dtype("float64")
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = frame.copy()
        values: dict[str, np.ndarray] = {}
        for name, _, tree in self._parsed():
            for column in referenced_columns(tree):
                if column not in values:
                    values[column] = floats(out[column])
            with np.errstate(all="ignore"):
                result = np.broadcast_to(evaluate(tree.body, values), (len(out),))
                result = np.where(np.isinf(result), np.nan, result).astype("float64")
            values[name] = result
            out[name] = result
        return out

    def _names_out(self, names: list[str]) -> list[str]:
        new = [str(n) for n in (self.expressions or {}) if str(n) not in names]
        return names + list(dict.fromkeys(new))
