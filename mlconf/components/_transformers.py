"""Custom scikit-learn transformers behind the `transform` and `selector` components.

They follow the scikit-learn contract (so `clone`, pipelines and `set_output` work) and
take and return pandas DataFrames with the input's index, because some outputs (pandas
categoricals for xgboost, pass-through string columns) cannot be numpy arrays. Fitted
state is plain data (lists, arrays, str), never functions or lambdas, so that skops can
persist and reload every fitted pipeline.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import (
    SelectKBest,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import KBinsDiscretizer, PolynomialFeatures
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from mlconf.errors import MlconfError, did_you_mean

DATETIME_PARTS: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "dayofweek",
    "dayofyear",
    "hour",
    "minute",
    "quarter",
    "is_weekend",
)
# config spells parts as pandas 2 did; pandas 3 deprecates these two spellings
_PANDAS_PART_NAMES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}
BIN_STRATEGIES: tuple[str, ...] = ("quantile", "uniform", "kmeans")
BIN_ENCODINGS: tuple[str, ...] = ("ordinal", "onehot")
OUTLIER_METHODS: tuple[str, ...] = ("iqr", "zscore")
OUTLIER_ACTIONS: tuple[str, ...] = ("clip", "flag")


class ParameterError(MlconfError, ValueError):
    """A bad transformer setting: a ValueError for scikit-learn, a readable error for users."""


def check_choice(owner: str, name: str, value: object, allowed: Sequence[str]) -> str:
    """Return `value` if it is one of `allowed`, else raise naming the options and a guess."""
    if isinstance(value, str) and value in allowed:
        return value
    raise ParameterError(
        f"{name}={value!r} is not one of: {', '.join(allowed)}.{did_you_mean(str(value), allowed)}",
        where=owner,
        fix=f"set {name} to one of: {', '.join(allowed)}",
    )


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------


def _is_numeric(dtype: Any) -> bool:
    """Numbers proper; booleans are excluded because fences and logs make no sense on 0/1."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _floats(series: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for anything missing (incl. pd.NA) or not a number."""
    numbers = pd.to_numeric(series, errors="coerce")
    return np.asarray(pd.Series(numbers).to_numpy(dtype="float64", na_value=np.nan))


def _value_text(value: object) -> str:
    """One category value as text; 3.0 becomes '3' so ints that gained a NaN still match."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(series: pd.Series) -> pd.Series:
    """Category values as python str (missing stays NaN), identical at fit and at serving."""
    text = series.astype(object)
    if not isinstance(series.dtype, pd.StringDtype):  # str columns need no per-value work
        text = text.map(_value_text, na_action="ignore")
    return text.where(series.notna(), np.nan)


def _category_shares(series: pd.Series) -> tuple[list[str], np.ndarray]:
    """Sorted categories seen in `series` and each one's share of all rows (missing included)."""
    counts = _as_text(series).value_counts(dropna=True)
    categories = sorted(str(c) for c in counts.index)
    shares = np.array([counts[c] for c in categories], dtype="float64") / max(len(series), 1)
    return categories, shares


def _filled(X: Any, medians: bool) -> Any:
    """X with missing values filled (column medians, or 0), for estimators that refuse NaN.

    Callers either put NaN back afterwards or only use X to score columns.
    """
    if isinstance(X, pd.DataFrame):
        fill = X.median(numeric_only=True) if medians else 0.0
        return X.fillna(fill).fillna(0.0)
    # arrays get scikit-learn's checks: 2-D, dense, real numbers
    values = check_array(X, dtype="float64", ensure_all_finite="allow-nan", copy=True)
    missing = np.isnan(values)
    if medians and missing.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            values = np.where(missing, np.nanmedian(values, axis=0), values)
    return np.where(np.isnan(values), 0.0, values)


def _dense_with_nan(tags: Any) -> Any:
    """Tags for estimators that take NaN but, having to fill it, not sparse matrices."""
    tags.input_tags.allow_nan = True
    tags.input_tags.sparse = False
    return tags


def _frame_like(frame: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A new frame from column values, keeping the input's index (row order and labels)."""
    return pd.DataFrame(dict(columns), index=frame.index)


def _columns(frame: pd.DataFrame) -> Iterator[tuple[int, str, pd.Series]]:
    """Position, name and values of each column; by position, so odd names cannot collide."""
    for i, name in enumerate(frame.columns):
        yield i, name, frame.iloc[:, i]


class _FrameTransformer(TransformerMixin, BaseEstimator):
    """Shared plumbing: checks the input's columns, works on a DataFrame, keeps the index.

    Subclasses implement `_check_settings` (constructor arguments, no data: factories call
    it too, so a typo fails before any data is read), `fit` and `transform`, and
    `_names_out` when their output columns differ from their input columns.
    """

    _takes_text = False

    def _check_settings(self) -> None:
        """Validate constructor arguments; the default has none to check."""

    def _start_fit(self, X: Any) -> pd.DataFrame:
        self._check_settings()
        if isinstance(X, pd.DataFrame) and len(X) == 0:
            raise ValueError(f"Found array with 0 sample(s) while {type(self).__name__} needs 1.")
        return self._frame(X, reset=True)

    def _start_transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self)
        return self._frame(X, reset=False)

    def _frame(self, X: Any, reset: bool) -> pd.DataFrame:
        """Record or check the columns; a DataFrame is used as is (no copy, dtypes kept)."""
        if not isinstance(X, pd.DataFrame):
            # arrays get scikit-learn's checks: 2-D, dense, not complex, not empty
            X = check_array(X, dtype=None, ensure_all_finite=False)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if isinstance(X, pd.DataFrame):
            return X
        return pd.DataFrame(X, columns=self._names_in(None))

    def _names_in(self, input_features: Sequence[str] | None) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if names is not None:
                return [str(n) for n in names]
            return [f"x{i}" for i in range(self.n_features_in_)]
        given = [str(n) for n in input_features]
        if len(given) != self.n_features_in_ or (names is not None and given != list(names)):
            raise ValueError(
                f"input_features {given} do not match the {self.n_features_in_} "
                f"columns seen in fit {list(names) if names is not None else ''}"
            )
        return given

    def _names_out(self, names: list[str]) -> list[str]:
        return names

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Output column names, as scikit-learn's set_output and ColumnTransformer need."""
        check_is_fitted(self)
        return np.asarray(self._names_out(self._names_in(input_features)), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = _dense_with_nan(super().__sklearn_tags__())
        tags.input_tags.string = self._takes_text
        tags.input_tags.categorical = self._takes_text
        return tags


def _numeric_only(owner: str, frame: pd.DataFrame) -> None:
    """Reject text columns where arithmetic is needed, naming them."""
    bad = [
        f"{name} ({col.dtype})" for _, name, col in _columns(frame) if not _is_numeric(col.dtype)
    ]
    if bad:
        raise ParameterError(
            f"needs numeric columns, got: {', '.join(bad)}",
            where=owner,
            fix="apply it to numeric columns only (or encode the text columns first)",
        )


# ---------------------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------------------


class AsCategory(_FrameTransformer):
    """Cast columns to pandas categoricals with the categories seen in training.

    xgboost's native categorical support reads these; values unseen in training become
    missing instead of failing, since serving data always brings new categories.
    """

    _takes_text = True

    def fit(self, X: Any, y: Any = None) -> AsCategory:
        frame = self._start_fit(X)
        self.categories_ = [_category_shares(col)[0] for _, _, col in _columns(frame)]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for i, name, col in _columns(frame):
            text = _as_text(col)
            known = text.where(text.isin(self.categories_[i]), np.nan)
            out[name] = known.astype(pd.CategoricalDtype(self.categories_[i]))
        return _frame_like(frame, out)


class FrequencyEncoder(_FrameTransformer):
    """Replace each category by its share of the training rows (unseen: 0.0).

    A compact, target-free encoding for high-cardinality columns; missing values get the
    share of missing rows in training, so missingness stays informative.
    """

    _takes_text = True

    def fit(self, X: Any, y: Any = None) -> FrequencyEncoder:
        frame = self._start_fit(X)
        learned = [_category_shares(col) for _, _, col in _columns(frame)]
        self.categories_ = [categories for categories, _ in learned]
        self.frequencies_ = [shares for _, shares in learned]
        self.missing_frequencies_ = frame.isna().mean().to_numpy(dtype="float64")
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for i, name, col in _columns(frame):
            text = _as_text(col)
            lookup = dict(zip(self.categories_[i], self.frequencies_[i].tolist(), strict=True))
            shares = _floats(text.map(lookup))
            missing = text.isna().to_numpy()
            out[name] = np.where(missing, self.missing_frequencies_[i], np.nan_to_num(shares))
        return _frame_like(frame, out)


class CrossFitFolds:
    """Seeded K folds for target encoding's cross fitting, stratified for class targets.

    scikit-learn's TargetEncoder shuffles its folds without a seed unless given a splitter;
    this one makes runs repeatable while still choosing the fold type from the target,
    as TargetEncoder does with `target_type="auto"`.
    """

    def __init__(self, n_splits: int = 5, random_state: int | None = 0) -> None:
        self.n_splits = n_splits
        self.random_state = random_state

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        classes = y is not None and type_of_target(y) in ("binary", "multiclass")
        folds = StratifiedKFold if classes else KFold
        splitter = folds(n_splits=self.n_splits, shuffle=True, random_state=self.random_state)
        yield from splitter.split(X, y)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def __repr__(self) -> str:
        return f"CrossFitFolds(n_splits={self.n_splits}, random_state={self.random_state})"


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------


def _parse_datetimes(series: pd.Series) -> pd.Series:
    """Parse to datetimes, unparseable values to NaT.

    pandas guesses one format from the first value and silently drops rows written
    differently, so a guess that loses values is retried element by element; mixed
    time zones are converted to UTC rather than failing.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(series, errors="coerce")
            if parsed.isna().sum() > series.isna().sum():
                parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    return parsed


def _datetime_part(stamps: pd.Series, part: str) -> np.ndarray:
    """One calendar part as float64 (NaN where the date is missing)."""
    if part == "is_weekend":
        days = _floats(stamps.dt.day_of_week)
        return np.where(np.isnan(days), np.nan, (days >= 5).astype("float64"))
    return _floats(getattr(stamps.dt, _PANDAS_PART_NAMES.get(part, part)))


class DatetimeParts(_FrameTransformer):
    """Turn date columns into numeric calendar parts (`<col>_<part>`) a model can split on."""

    _takes_text = True

    def __init__(self, *, parts: Sequence[str] = ("year", "month", "dayofweek")) -> None:
        self.parts = parts

    def _parts(self) -> list[str]:
        parts = [self.parts] if isinstance(self.parts, str) else self.parts
        return list(dict.fromkeys(parts))

    def _check_settings(self) -> None:
        parts = self._parts()
        if not parts:
            raise ParameterError(
                "parts is empty",
                where="DatetimeParts",
                fix=f"list at least one of: {', '.join(DATETIME_PARTS)}",
            )
        for part in parts:
            check_choice("DatetimeParts", "parts", part, DATETIME_PARTS)

    def fit(self, X: Any, y: Any = None) -> DatetimeParts:
        frame = self._start_fit(X)
        for _, name, col in _columns(frame):
            if col.notna().any() and _parse_datetimes(col).isna().all():
                example = col.dropna().iloc[0]
                raise ParameterError(
                    f"column {name!r} has no value that reads as a date (e.g. {example!r})",
                    where="DatetimeParts",
                    fix="apply datetime_parts only to date columns such as 2024-05-31",
                )
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out = {}
        for _, name, col in _columns(frame):
            stamps = _parse_datetimes(col)
            for part in self._parts():
                out[f"{name}_{part}"] = _datetime_part(stamps, part)
        return _frame_like(frame, out)

    def _names_out(self, names: list[str]) -> list[str]:
        return [f"{name}_{part}" for name in names for part in self._parts()]


# ---------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------

_BINARY_OPS: dict[type[ast.operator], Callable[..., Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[..., Any]] = {
    ast.USub: np.negative,
    ast.UAdd: np.positive,
}
# name -> (numpy function, its arguments as shown to users)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "abs": (np.abs, ("x",)),
    "log": (np.log, ("x",)),
    "log1p": (np.log1p, ("x",)),
    "exp": (np.exp, ("x",)),
    "sqrt": (np.sqrt, ("x",)),
    "clip": (np.clip, ("x", "lo", "hi")),
    "minimum": (np.minimum, ("a", "b")),
    "maximum": (np.maximum, ("a", "b")),
}
_COLUMN_FUNCTION = "col"
_EXPRESSION_FIX = (
    "use numbers, column names, + - * / // % ** and "
    + ", ".join(f"{name}({', '.join(args)})" for name, (_, args) in _FUNCTIONS.items())
    + '; for a column name that is not an identifier write col("my column") or `my column`'
)
_NODE_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.Lambda: "lambda",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment (:=)",
}


def _expression_error(name: str, text: str, problem: str) -> MlconfError:
    return MlconfError(
        f"expression {name!r} = {text!r}: {problem}",
        where="transform expressions",
        fix=_EXPRESSION_FIX,
    )


def parse_expression(name: str, text: object) -> ast.Expression:
    """Parse one expression and check it uses only arithmetic on columns and numbers.

    Raises MlconfError naming the expression and the offending token; the tree is then
    evaluated by `_evaluate`, never by eval/exec.
    """
    if not isinstance(text, str) or not text.strip():
        raise _expression_error(name, str(text), "an expression must be non-empty text")
    # `name with spaces` is pandas.eval's spelling of col("name with spaces")
    source = re.sub(r"`([^`]*)`", _backticks_to_col, text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        rest = (exc.text or source)[(exc.offset or 0) - 1 :].split() if exc.offset else []
        where = repr(rest[0]) if rest else "the end"
        raise _expression_error(name, text, f"syntax error ({exc.msg}) at {where}") from None
    _check_node(tree.body, name, text, source)
    return tree


def _backticks_to_col(match: re.Match[str]) -> str:
    return f"{_COLUMN_FUNCTION}({match.group(1)!r})"


def _check_node(node: ast.AST, name: str, text: str, source: str) -> None:
    """Reject every node that is not a number, column, operator or allowed function call."""
    token = ast.get_source_segment(source, node) or type(node).__name__
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _expression_error(name, text, f"{token!r} is not allowed (only numbers)")
    elif isinstance(node, ast.Name):
        return
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY_OPS:
            raise _expression_error(name, text, f"operator in {token!r} is not allowed")
        _check_node(node.left, name, text, source)
        _check_node(node.right, name, text, source)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY_OPS:
            raise _expression_error(name, text, f"operator in {token!r} is not allowed")
        _check_node(node.operand, name, text, source)
    elif isinstance(node, ast.Call):
        _check_call(node, name, text, source, token)
    else:
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        raise _expression_error(name, text, f"{token!r} is not allowed ({what})")


def _check_call(node: ast.Call, name: str, text: str, source: str, token: str) -> None:
    func = node.func.id if isinstance(node.func, ast.Name) else None
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _expression_error(name, text, f"{token!r}: only plain positional arguments")
    if func == _COLUMN_FUNCTION:
        arg = node.args[0] if len(node.args) == 1 else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise _expression_error(name, text, f'{token!r}: write col("column name")')
        return
    if func not in _FUNCTIONS:
        shown = func or ast.get_source_segment(source, node.func) or "call"
        raise _expression_error(
            name,
            text,
            f"function {shown!r} is not allowed.{did_you_mean(shown, _FUNCTIONS)}",
        )
    arity = len(_FUNCTIONS[func][1])
    if len(node.args) != arity:
        raise _expression_error(
            name, text, f"{token!r}: {func} takes {arity} argument(s), got {len(node.args)}"
        )
    for arg in node.args:
        _check_node(arg, name, text, source)


def _column_name(node: ast.AST) -> str | None:
    """The column a node refers to (a bare name or col("...")), else None."""
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == _COLUMN_FUNCTION
    ):
        arg = node.args[0]
        if not isinstance(arg, ast.Constant):
            raise RuntimeError("internal error: expected isinstance(arg, ast.Constant)")
        return str(arg.value)
    return None


def referenced_columns(tree: ast.Expression) -> list[str]:
    """Columns an expression reads, in order of first use."""
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        column = _column_name(node)
        if column is not None and not (
            isinstance(node, ast.Name) and _is_function_position(tree, node)
        ):
            found.setdefault(column, None)
    return list(found)


def _is_function_position(tree: ast.Expression, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def _evaluate(node: ast.AST, values: Mapping[str, np.ndarray]) -> Any:
    """Evaluate a checked tree over float arrays (numpy semantics: x/0 is inf, 0/0 NaN)."""
    column = _column_name(node)
    if column is not None:
        return values[column]
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)):
            raise RuntimeError("internal error: expected isinstance(node.value, (int, float))")
        return np.float64(node.value)
    if isinstance(node, ast.BinOp):
        op = _BINARY_OPS[type(node.op)]
        return op(_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY_OPS[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        func = _FUNCTIONS[node.func.id][0]
        return func(*(_evaluate(arg, values) for arg in node.args))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse_expression guards


class Expressions(_FrameTransformer):
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
                    raise _expression_error(
                        name,
                        text,
                        f"unknown column {column!r}.{did_you_mean(column, available)}",
                    )
                if not pd.api.types.is_numeric_dtype(available[column]):
                    raise _expression_error(
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
                    values[column] = _floats(out[column])
            with np.errstate(all="ignore"):
                result = np.broadcast_to(_evaluate(tree.body, values), (len(out),))
                result = np.where(np.isinf(result), np.nan, result).astype("float64")
            values[name] = result
            out[name] = result
        return out

    def _names_out(self, names: list[str]) -> list[str]:
        new = [str(n) for n in (self.expressions or {}) if str(n) not in names]
        return names + list(dict.fromkeys(new))


# ---------------------------------------------------------------------------------------
# Outliers and scale
# ---------------------------------------------------------------------------------------


def _outlier_columns(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    """The columns to check: the named ones (which must exist and be numeric) or all numeric."""
    if columns is None:
        return [str(c) for c in frame.columns if _is_numeric(frame[c].dtype)]
    names = [columns] if isinstance(columns, str) else [str(c) for c in columns]
    for name in names:
        if name not in frame.columns:
            raise ParameterError(
                f"unknown column {name!r} in columns.{did_you_mean(name, map(str, frame.columns))}",
                where="outliers",
                fix="list existing numeric columns, or leave columns unset to check all",
            )
        if not _is_numeric(frame[name].dtype):
            raise ParameterError(
                f"column {name!r} is not numeric (dtype {frame[name].dtype})",
                where="outliers",
                fix="list only numeric columns",
            )
    return names


def _fences(
    frame: pd.DataFrame,
    method: str,
    factor: float,
    threshold: float,
    columns: Sequence[str] | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The checked columns' values as floats, and each column's lower and upper fence."""
    check_choice("outliers", "method", method, OUTLIER_METHODS)
    names = _outlier_columns(frame, columns)
    values = pd.DataFrame({n: _floats(frame[n]) for n in names}, index=frame.index)
    if method == "iqr":
        q1 = values.quantile(0.25).to_numpy(dtype="float64")
        q3 = values.quantile(0.75).to_numpy(dtype="float64")
        spread = q3 - q1
        return values, q1 - factor * spread, q3 + factor * spread
    mean = values.mean().to_numpy(dtype="float64")
    std = values.std().to_numpy(dtype="float64")
    return values, mean - threshold * std, mean + threshold * std


def _outside(values: pd.DataFrame, lower: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
    """True where a value lies beyond its column's fences (missing values never do)."""
    return (values.lt(lower, axis=1) | values.gt(upper, axis=1)).astype(bool)


def outlier_mask(
    frame: pd.DataFrame,
    method: str = "iqr",
    factor: float = 1.5,
    threshold: float = 3.0,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Which values are outliers by fences computed on `frame` itself.

    Returns a bool frame with `frame`'s index and one column per checked (numeric)
    column, for quarantining rows before training: `frame[~mask.any(axis=1)]`.
    """
    values, lower, upper = _fences(frame, method, factor, threshold, columns)
    return _outside(values, lower, upper)


class OutlierClipper(_FrameTransformer):
    """Clip numeric columns to fences learned in training, or flag values beyond them.

    Fences are IQR (q1 - factor*iqr .. q3 + factor*iqr) or z-score (mean +- threshold*std).
    Non-numeric columns pass through untouched; `action="flag"` keeps values and adds a
    0/1 column `<col>_outlier` per checked column.
    """

    _takes_text = True

    def __init__(
        self,
        *,
        method: str = "iqr",
        factor: float = 1.5,
        threshold: float = 3.0,
        columns: Sequence[str] | None = None,
        action: str = "clip",
    ) -> None:
        self.method = method
        self.factor = factor
        self.threshold = threshold
        self.columns = columns
        self.action = action

    def _check_settings(self) -> None:
        check_choice("outliers", "method", self.method, OUTLIER_METHODS)
        check_choice("outliers", "action", self.action, OUTLIER_ACTIONS)

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        frame = self._start_fit(X)
        values, lower, upper = _fences(
            frame, self.method, self.factor, self.threshold, self.columns
        )
        self.columns_ = [str(c) for c in values.columns]
        self.lower_ = lower
        self.upper_ = upper
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        values = pd.DataFrame({n: _floats(frame[n]) for n in self.columns_}, index=frame.index)
        out = frame.copy()
        if self.action == "clip":
            for i, name in enumerate(self.columns_):
                out[name] = values[name].clip(self.lower_[i], self.upper_[i])
            return out
        flags = _outside(values, self.lower_, self.upper_).astype("int64")
        for name in self.columns_:
            out[f"{name}_outlier"] = flags[name]
        return out

    def _names_out(self, names: list[str]) -> list[str]:
        if self.action == "flag":
            return names + [f"{n}_outlier" for n in self.columns_]
        return names


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _signed_expm1(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.expm1(np.abs(values))


class SignedLog1p(_FrameTransformer):
    """sign(x) * log1p(|x|): tames skewed values, defined for zero and negatives too."""

    def fit(self, X: Any, y: Any = None) -> SignedLog1p:
        _numeric_only("log", self._start_fit(X))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        return self._apply(self._start_transform(X), _signed_log1p)

    def inverse_transform(self, X: Any) -> pd.DataFrame:
        """Undo the transform (e.g. for a log-transformed target)."""
        return self._apply(self._start_transform(X), _signed_expm1)

    def _apply(self, frame: pd.DataFrame, func: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
        with np.errstate(all="ignore"):
            return _frame_like(
                frame, {name: func(_floats(col)) for _, name, col in _columns(frame)}
            )


class Bins(_FrameTransformer):
    """Discretize each numeric column into bins learned on its non-missing training values.

    Unlike KBinsDiscretizer alone, missing values stay missing instead of failing the fit,
    so binning does not require an imputer in front. `encode="onehot"` gives 0/1 columns
    `<col>_bin<k>` (all NaN for a missing value).
    """

    def __init__(
        self, *, n_bins: int = 5, strategy: str = "quantile", encode: str = "ordinal"
    ) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.encode = encode

    def _check_settings(self) -> None:
        check_choice("bins", "strategy", self.strategy, BIN_STRATEGIES)
        check_choice("bins", "encode", self.encode, BIN_ENCODINGS)

    def fit(self, X: Any, y: Any = None) -> Bins:
        frame = self._start_fit(X)
        _numeric_only("bins", frame)
        self.binners_: list[KBinsDiscretizer | None] = []
        for _, _, col in _columns(frame):
            values = _floats(col)
            known = values[~np.isnan(values)]
            binner = None
            if len(known):
                binner = KBinsDiscretizer(
                    n_bins=self.n_bins, strategy=self.strategy, encode="ordinal", random_state=0
                ).fit(known.reshape(-1, 1))
            self.binners_.append(binner)
        self.n_bins_ = [0 if b is None else int(b.n_bins_[0]) for b in self.binners_]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        frame = self._start_transform(X)
        out: dict[str, np.ndarray] = {}
        for i, name, col in _columns(frame):
            values = _floats(col)
            codes = np.full(len(values), np.nan)
            known = ~np.isnan(values)
            binner = self.binners_[i]
            if binner is not None and known.any():
                codes[known] = binner.transform(values[known].reshape(-1, 1)).ravel()
            if self.encode == "ordinal":
                out[name] = codes
                continue
            for k in range(self.n_bins_[i]):
                out[f"{name}_bin{k}"] = np.where(np.isnan(codes), np.nan, codes == k)
        return _frame_like(frame, out)

    def _names_out(self, names: list[str]) -> list[str]:
        if self.encode == "ordinal":
            return names
        return [
            f"{n}_bin{k}" for n, bins in zip(names, self.n_bins_, strict=True) for k in range(bins)
        ]


class NanPolynomialFeatures(PolynomialFeatures):
    """PolynomialFeatures where a term is missing when a column in it is, instead of failing.

    Interactions run after the column sets, where calendar parts and unencoded numbers
    may still hold NaN; models that handle NaN (xgboost) then see it unchanged.
    """

    def fit(self, X: Any, y: Any = None) -> NanPolynomialFeatures:
        super().fit(_filled(X, medians=False), y)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        terms = np.array(super().transform(_filled(X, medians=False)), dtype="float64")
        missing = np.asarray(pd.isna(X), dtype="int64")
        if missing.any():
            uses = (np.asarray(self.powers_) > 0).astype("int64")  # (terms, inputs)
            terms[(missing @ uses.T) > 0] = np.nan
        return terms

    def __sklearn_tags__(self) -> Any:
        return _dense_with_nan(super().__sklearn_tags__())


# ---------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------


def seeded_mutual_info_classif(X: Any, y: Any) -> np.ndarray:
    """mutual_info_classif with a fixed seed: its noise would otherwise change each run."""
    return np.asarray(mutual_info_classif(X, y, random_state=0))


def seeded_mutual_info_regression(X: Any, y: Any) -> np.ndarray:
    """mutual_info_regression with a fixed seed: its noise would otherwise change each run.

    Its 3 nearest neighbours need more than 3 rows; fewer neighbours keep tiny data working.
    """
    neighbours = max(1, min(3, len(y) - 1))
    return np.asarray(mutual_info_regression(X, y, n_neighbors=neighbours, random_state=0))


class KBestSelector(SelectKBest):
    """SelectKBest that keeps every feature, quietly, when k exceeds their number.

    The number of features reaching the selector depends on the data (one-hot columns),
    so a config's k cannot always be known to fit. Missing values are accepted: columns
    are scored with them set to the column median, and passed through unchanged.
    """

    def fit(self, X: Any, y: Any = None) -> KBestSelector:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"k=\d+ is greater than n_features")
            super().fit(_filled(X, medians=True), y)
        return self

    def __sklearn_tags__(self) -> Any:
        return _dense_with_nan(super().__sklearn_tags__())


_UNSAFE_NAME_CHARS = str.maketrans({"[": "(", "]": ")", "<": "lt"})


def safe_names(names: Any) -> list[str]:
    """Feature names every model library accepts (xgboost refuses '[', ']' and '<')."""
    out: list[str] = []
    taken: set[str] = set()
    for name in map(str, names):
        candidate = base = name.translate(_UNSAFE_NAME_CHARS)
        n = 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


class SafeFeatureNames(TransformerMixin, BaseEstimator):
    """The last step before the model: rename columns a model library would reject."""

    def fit(self, X: Any, y: Any = None) -> SafeFeatureNames:
        self.feature_names_in_ = np.asarray(list(map(str, getattr(X, "columns", []))), dtype=object)
        self.names_out_ = safe_names(self.feature_names_in_)
        return self

    def transform(self, X: Any) -> Any:
        if not hasattr(X, "columns"):
            return X
        renamed = X.copy(deep=False)
        renamed.columns = safe_names(X.columns)
        return renamed

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return np.asarray(self.names_out_, dtype=object)

    def set_output(self, *, transform: str | None = None) -> SafeFeatureNames:
        return self
