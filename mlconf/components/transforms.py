"""Feature transforms: each factory returns a fresh, unfitted scikit-learn transformer.

Every transformer takes a pandas DataFrame and, with `set_output(transform="pandas")`,
returns one with the same index. scikit-learn, pandas and numpy are imported inside the
factories so that listing components (`mlconf plugins`) stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlconf.core.component_registry import register

if TYPE_CHECKING:
    from sklearn.base import TransformerMixin

IMPUTE_STRATEGIES = ("median", "mean", "most_frequent", "constant")
TARGET_TYPES = ("auto", "continuous", "binary", "multiclass")


def _names(value: str | Sequence[str]) -> list[str]:
    """A config value that may be one name or a list of names, as a list (never split a str)."""
    return [value] if isinstance(value, str) else [str(v) for v in value]


@register("transform", "impute")
def impute(
    *, strategy: str = "median", fill_value: Any = None, add_indicator: bool = False
) -> TransformerMixin:
    """Fill missing values (median, mean, most_frequent or constant), optionally flagging them."""
    from sklearn.impute import SimpleImputer

    from mlconf.components.transformers.base import check_choice

    check_choice("transform impute", "strategy", strategy, IMPUTE_STRATEGIES)
    return SimpleImputer(strategy=strategy, fill_value=fill_value, add_indicator=add_indicator)


@register("transform", "standard_scaler")
def standard_scaler(*, with_mean: bool = True, with_std: bool = True) -> TransformerMixin:
    """Center to mean 0 and scale to unit variance, for linear and distance-based models."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler(with_mean=with_mean, with_std=with_std)


@register("transform", "minmax_scaler")
def minmax_scaler(
    *, feature_range: Sequence[float] = (0.0, 1.0), clip: bool = False
) -> TransformerMixin:
    """Rescale each column to feature_range (default 0..1) using the training min and max."""
    from sklearn.preprocessing import MinMaxScaler

    return MinMaxScaler(feature_range=tuple(feature_range), clip=clip)


@register("transform", "robust_scaler")
def robust_scaler(
    *,
    with_centering: bool = True,
    with_scaling: bool = True,
    quantile_range: Sequence[float] = (25.0, 75.0),
) -> TransformerMixin:
    """Center on the median and scale by the IQR, so outliers do not dominate the scale."""
    from sklearn.preprocessing import RobustScaler

    return RobustScaler(
        with_centering=with_centering,
        with_scaling=with_scaling,
        quantile_range=tuple(quantile_range),
    )


@register("transform", "log")
def log() -> TransformerMixin:
    """sign(x) * log1p(|x|) of numeric columns: tames skew and never fails on zero or negatives."""
    from mlconf.components.transformers.numeric import SignedLog1p

    return SignedLog1p()


@register("transform", "bins")
def bins(
    *, n_bins: int = 5, strategy: str = "quantile", encode: str = "ordinal"
) -> TransformerMixin:
    """Discretize numeric columns into n_bins bins (ordinal codes, or onehot 0/1 columns)."""
    from mlconf.components.transformers.numeric import Bins

    transformer = Bins(n_bins=n_bins, strategy=strategy, encode=encode)
    transformer._check_settings()
    return transformer


@register("transform", "onehot")
def onehot(
    *,
    max_categories: int | None = None,
    min_frequency: float | None = None,
    drop: str | None = None,
) -> TransformerMixin:
    """One 0/1 column per category; unseen or rare categories go to an 'infrequent' column."""
    from sklearn.preprocessing import OneHotEncoder

    return OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        sparse_output=False,
        max_categories=max_categories,
        min_frequency=min_frequency,
        drop=drop,
    )


@register("transform", "ordinal")
def ordinal() -> TransformerMixin:
    """Integer code per category (sorted); unseen and missing values become -1."""
    from sklearn.preprocessing import OrdinalEncoder

    return OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )


@register("transform", "frequency")
def frequency() -> TransformerMixin:
    """Each category's share of the training rows; unseen categories become 0.0."""
    from mlconf.components.transformers.categories import FrequencyEncoder

    return FrequencyEncoder()


@register("transform", "target")
def target(
    *,
    target_type: str = "auto",
    cv: int = 5,
    smooth: float | str = "auto",
    random_state: int = 0,
) -> TransformerMixin:
    """Mean target per category, cross-fitted in training so it does not leak the target."""
    from sklearn.preprocessing import TargetEncoder

    from mlconf.components.transformers.base import check_choice
    from mlconf.components.transformers.categories import CrossFitFolds

    check_choice("transform target", "target_type", target_type, TARGET_TYPES)
    return TargetEncoder(
        target_type=target_type,
        smooth=smooth,
        cv=CrossFitFolds(n_splits=cv, random_state=random_state),
    )


@register("transform", "category")
def category() -> TransformerMixin:
    """Cast to pandas categoricals of the training categories, for xgboost's categorical support."""
    from mlconf.components.transformers.categories import AsCategory

    return AsCategory()


@register("transform", "datetime_parts")
def datetime_parts(
    *, parts: str | Sequence[str] = ("year", "month", "dayofweek")
) -> TransformerMixin:
    """Parse dates and output numeric parts: year, month, day, dayofweek, hour, is_weekend, ..."""
    from mlconf.components.transformers.dates import DatetimeParts

    transformer = DatetimeParts(parts=tuple(_names(parts)))
    transformer._check_settings()
    return transformer


@register("transform", "polynomial")
def polynomial(
    *, degree: int = 2, interaction_only: bool = False, include_bias: bool = False
) -> TransformerMixin:
    """Products and powers of numeric columns up to degree; a term with a missing input is NaN."""
    from mlconf.components.transformers.numeric import NanPolynomialFeatures

    return NanPolynomialFeatures(
        degree=degree, interaction_only=interaction_only, include_bias=include_bias
    )


@register("transform", "expressions")
def expressions(*, expressions: Mapping[str, str] | None = None) -> TransformerMixin:
    """New columns from arithmetic on columns, e.g. ratio: "Horsepower / Weight_in_lbs"."""
    from mlconf.components.transformers.expressions import Expressions

    transformer = Expressions(expressions=dict(expressions or {}))
    transformer._check_settings()
    return transformer


@register("transform", "outliers")
def outliers(
    *,
    method: str = "iqr",
    factor: float = 1.5,
    threshold: float = 3.0,
    columns: str | Sequence[str] | None = None,
    action: str = "clip",
) -> TransformerMixin:
    """Clip numeric columns to training fences (IQR or z-score), or flag values beyond them."""
    from mlconf.components.transformers.outliers import OutlierClipper

    transformer = OutlierClipper(
        method=method,
        factor=factor,
        threshold=threshold,
        columns=None if columns is None else _names(columns),
        action=action,
    )
    transformer._check_settings()
    return transformer


@register("transform", "pii_guard")
def pii_guard(
    *,
    drop_columns: str | Sequence[str] = (),
    hash_columns: str | Sequence[str] = (),
    salt_env: str = "MLCONF_PII_SALT",
) -> TransformerMixin:
    """Drop PII columns and replace others by salted sha256 hashes (salt from salt_env)."""
    from mlconf.components.pii_guard import PiiGuard

    return PiiGuard(
        drop_columns=_names(drop_columns), hash_columns=_names(hash_columns), salt_env=salt_env
    )
