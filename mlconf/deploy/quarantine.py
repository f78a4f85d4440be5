"""Rows that fail the training schema: the rules a chunk is checked against, the split of
a chunk into rows to score and rows to quarantine (with their reasons, under the model's
privacy policy), and the quarantine file, made only when a row is quarantined."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.deploy.batch_columns import REASON, ROW
from mlconf.deploy.scoring_model import dtype_kind, training_dtypes
from mlconf.store.artifacts import TrainedModel
from mlconf.store.tables.writers import ChunkWriter, atomic_writer

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.ml.privacy.policy import PrivacyPolicy

_NUMERIC_KINDS = "iuf"
_DTYPE_ONLY = "_dtype_only"  # a rule that only says "a number": nothing to check on numbers


def scoring_schema(model: TrainedModel) -> dict[str, Any]:
    """The schema every chunk is checked against: the training schema's rules for the input
    columns, plus "must be a number" for every column the model was trained on as numeric.

    Uniqueness is not checked (a chunk cannot see the others) and the target is not needed.
    """
    raw = model.manifest.get("schema") or {}
    inputs = set(model.input_columns)
    columns: dict[str, dict[str, Any]] = {
        str(name): {**(spec or {}), "unique": False, "required": True}
        for name, spec in (raw.get("columns") or {}).items()
        if name in inputs
    }
    for name, dtype in training_dtypes(model).items():
        if name not in inputs or (columns.get(name) or {}).get("dtype"):
            continue
        if dtype_kind(dtype) in _NUMERIC_KINDS:
            columns.setdefault(name, {"required": True, _DTYPE_ONLY: True})["dtype"] = "float"
    return {
        "on_error": "quarantine",
        "coerce": bool(raw.get("coerce", True)),
        "strict": False,
        "columns": columns,
    }


def chunk_schema(schema: dict[str, Any], chunk: pd.DataFrame) -> dict[str, Any]:
    """The schema for one chunk, without the "must be a number" rules of columns that are
    numbers already (reading gave them a numeric dtype): checking those costs time, not rows.
    """
    columns = {}
    for name, spec in schema["columns"].items():
        if spec.get(_DTYPE_ONLY):
            if name in chunk.columns and chunk[name].dtype.kind in _NUMERIC_KINDS:
                continue
            spec = {k: v for k, v in spec.items() if k != _DTYPE_ONLY}
        columns[name] = spec
    return {**schema, "columns": columns}


def split_chunk(
    chunk: pd.DataFrame, schema: dict[str, Any], privacy: PrivacyPolicy, written: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The chunk's valid rows, and its failing ones as quarantine rows (row, reason and the
    `written` input columns, protected as the privacy policy says), None when all pass."""
    rules = chunk_schema(schema, chunk)
    if not rules["columns"]:
        return chunk, None
    from mlconf.ml.validation import REASONS_COLUMN, ROW_COLUMN, validate

    try:
        result = validate(chunk, rules, source=f"rows {chunk.index[0]:,}..", allow_empty=True)
    except MlconfError as exc:  # its table shows values: none raw of a protected column
        raise privacy.error(exc, chunk) from None
    if not result.n_quarantined:
        return result.valid, None
    renamed = result.quarantined.rename(columns={ROW_COLUMN: ROW, REASONS_COLUMN: REASON})
    renamed[REASON] = privacy.texts(renamed[REASON].astype(object), renamed)
    return result.valid, privacy.rows(renamed)[[ROW, REASON, *written]]


class QuarantineFile:
    """The quarantine CSV, opened at the first quarantined row on `stack` (so it is renamed
    into place when the stack closes): a run with no bad rows makes no file."""

    def __init__(self, stack: ExitStack, path: Path, written: list[str]) -> None:
        self.path = path
        self._stack = stack
        self._columns = [ROW, REASON, *written]
        self._writer: ChunkWriter | None = None

    @property
    def opened(self) -> bool:
        return self._writer is not None

    def write(self, bad: pd.DataFrame) -> None:
        if self._writer is None:
            self._writer = self._stack.enter_context(atomic_writer(self.path, "csv", self._columns))
        self._writer.write(bad)
