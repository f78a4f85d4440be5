"""The old home of the custom transformers, kept so that saved models still load.

A fitted pipeline saved by skops records each object's class by its module path, and
models trained before the transformers were split by family name this module. Every
name it held is re-exported here from `mlconf.components.transformers`; new code
imports from there.
"""

from __future__ import annotations

from mlconf.components.transformers.base import ParameterError, check_choice
from mlconf.components.transformers.categories import AsCategory, CrossFitFolds, FrequencyEncoder
from mlconf.components.transformers.dates import DATETIME_PARTS, DatetimeParts
from mlconf.components.transformers.expression_language import (
    parse_expression,
    referenced_columns,
)
from mlconf.components.transformers.expressions import Expressions
from mlconf.components.transformers.feature_names import SafeFeatureNames, safe_names
from mlconf.components.transformers.numeric import (
    BIN_ENCODINGS,
    BIN_STRATEGIES,
    Bins,
    NanPolynomialFeatures,
    SignedLog1p,
)
from mlconf.components.transformers.outliers import (
    OUTLIER_ACTIONS,
    OUTLIER_METHODS,
    OutlierClipper,
    outlier_mask,
)
from mlconf.components.transformers.selection import (
    KBestSelector,
    seeded_mutual_info_classif,
    seeded_mutual_info_regression,
)

__all__ = [
    "BIN_ENCODINGS",
    "BIN_STRATEGIES",
    "DATETIME_PARTS",
    "OUTLIER_ACTIONS",
    "OUTLIER_METHODS",
    "AsCategory",
    "Bins",
    "CrossFitFolds",
    "DatetimeParts",
    "Expressions",
    "FrequencyEncoder",
    "KBestSelector",
    "NanPolynomialFeatures",
    "OutlierClipper",
    "ParameterError",
    "SafeFeatureNames",
    "SignedLog1p",
    "check_choice",
    "outlier_mask",
    "parse_expression",
    "referenced_columns",
    "safe_names",
    "seeded_mutual_info_classif",
    "seeded_mutual_info_regression",
]
