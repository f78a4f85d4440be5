"""Schema validation: the `schema` config group becomes a pandera schema that checks frames.

Validation is lazy, so one run reports every broken rule at once instead of the first.
Bad rows either stop the run (`on_error: fail`) or are set aside with their reasons
(`on_error: quarantine`), so that a few broken rows do not cost the whole batch.
Problems that no single row can be blamed for (a missing column, a column that cannot
be converted at all, a failed column-level check) always stop the run.
"""

from mlconf.ml.validation.inference import infer_schema, schema_yaml
from mlconf.ml.validation.messages import FAILURE_COLUMNS, MAX_SHOWN
from mlconf.ml.validation.schema import FRIENDLY_DTYPES, build_schema
from mlconf.ml.validation.validator import (
    ON_ERROR,
    REASONS_COLUMN,
    ROW_COLUMN,
    ValidationResult,
    validate,
)

__all__ = [
    "FAILURE_COLUMNS",
    "FRIENDLY_DTYPES",
    "MAX_SHOWN",
    "ON_ERROR",
    "REASONS_COLUMN",
    "ROW_COLUMN",
    "ValidationResult",
    "build_schema",
    "infer_schema",
    "schema_yaml",
    "validate",
]
