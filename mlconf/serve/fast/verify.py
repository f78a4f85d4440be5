"""The check a compiled scorer passes before it serves: on the reference rows (the model's
background sample, plus rows with each nullable column missing and each free text column
holding an unseen value) it must give the full pipeline's labels exactly and its
probabilities (or values) within TOLERANCE."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mlconf.serve.fast.compiler import CompiledScorer
    from mlconf.serve.schema import FieldRule
    from mlconf.store.artifacts import TrainedModel


class Loaded(Protocol):
    """What is checked: mlconf.serve.loader.Loaded (named here without importing it)."""

    @property
    def model(self) -> TrainedModel: ...
    @property
    def rules(self) -> list[FieldRule]: ...
    @property
    def record(self) -> Any: ...

    def score(self, frame: pd.DataFrame) -> tuple[list[Any], list[list[float]] | None]: ...


TOLERANCE = 1e-6
UNSEEN = "mlconf-unseen-category"


def reference_records(loaded: Loaded) -> list[dict[str, Any]]:
    """Request records to check the compiled scorer on (JSON-like values, None = missing)."""
    background = loaded.model.background
    rows: list[dict[str, Any]] = []
    if background is not None:
        frame = background.reindex(columns=[r.column for r in loaded.rules])
        for record in frame.astype(object).to_dict("records"):
            rows.append({k: _plain(v) for k, v in record.items()})
    if not rows:
        return rows
    base = rows[0]
    for rule in loaded.rules:
        if rule.nullable:
            rows.append({**base, rule.column: None})
        if rule.kind == "str" and rule.allowed is None and rule.regex is None:
            rows.append({**base, rule.column: UNSEEN})
    return rows


def _plain(value: Any) -> Any:
    """A frame cell as JSON would carry it: NaN and NA become None, numpy scalars Python."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return value.item() if hasattr(value, "item") else value


def disagreement(loaded: Loaded, scorer: CompiledScorer) -> str | None:
    """Why the compiled scorer cannot serve `loaded`: None when it agrees on every row."""
    from pydantic import ValidationError

    from mlconf.serve.schema import to_frame

    records = []
    for row in reference_records(loaded):
        try:  # a reference row the request schema refuses would never reach a scorer
            records.append(loaded.record.model_validate(row))
        except ValidationError:
            continue
    if not records:
        return "no reference rows to verify the compiled scorer on (no background sample)"
    columns = [[getattr(r, f"f{i}") for r in records] for i in range(len(loaded.rules))]
    want_labels, want_proba = loaded.score(to_frame(records, loaded.rules, loaded.model))
    got_labels, got_proba = scorer.score(columns, len(records))
    if want_proba is None and loaded.model.task == "classification":
        return "the full pipeline gives no probabilities"
    if scorer.task == "classification":
        if got_labels != want_labels:
            bad = next(
                i for i, (a, b) in enumerate(zip(got_labels, want_labels, strict=False)) if a != b
            )
            return f"label {got_labels[bad]!r}, not {want_labels[bad]!r}, on reference row {bad}"
        got, want = np.asarray(got_proba), np.asarray(want_proba)
    else:
        got, want = np.asarray(got_labels), np.asarray(want_labels)
    if got.shape != want.shape:
        return f"output of shape {got.shape} instead of {want.shape}"
    worst = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
    if not worst <= TOLERANCE:
        return f"outputs differ by {worst:.3g} (more than {TOLERANCE:g}) on the reference rows"
    return None
